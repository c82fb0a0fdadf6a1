-- Worked examples shown to labelers with a project's instructions: a JSON array of
-- {"content", "answer", "explanation"?}, checked against the label schema when the project is created.
alter table projects add column examples jsonb;
