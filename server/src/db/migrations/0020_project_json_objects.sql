-- projects.examples and projects.aggregation were written through the postgres driver as `$n::jsonb` with a
-- JSON text, which that driver sends as one JSON string: the column held "{\"method\":…}" (a jsonb string),
-- not the object, while PGlite stored the object. The writes now cast through text; this turns the strings
-- already stored back into what they spell.
update projects set examples = (examples #>> '{}')::jsonb where jsonb_typeof(examples) = 'string';
update projects set aggregation = (aggregation #>> '{}')::jsonb where jsonb_typeof(aggregation) = 'string';
