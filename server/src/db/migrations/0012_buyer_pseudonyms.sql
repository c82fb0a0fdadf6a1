-- Buyers see contributors under a pseudonym per campaign or project (a keyed hash of the device), never the
-- device address: an address is one id across everything, so a buyer could join campaigns, projects and
-- datasets (whose ids are keyed per dataset) on it and follow a person. The key never leaves the server.
alter table campaigns add column pseudonym_key text not null default (gen_random_uuid()::text || gen_random_uuid()::text);
alter table projects add column pseudonym_key text not null default (gen_random_uuid()::text || gen_random_uuid()::text);
