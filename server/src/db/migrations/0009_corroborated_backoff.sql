-- Who last reported an origin overloaded (429, 503, timeouts), and when: one device alone backs an origin
-- off for a minute at most; a long back-off needs a second device's report (ingest-service.ts).
alter table hosts add column backoff_reporter text;
alter table hosts add column backoff_reported_at timestamptz;
