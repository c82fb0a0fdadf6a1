-- A task lease (task-lease-service.ts) takes a project's ordinary items most-labelled first, then oldest, and
-- its gold items in id order from a random starting point: read in those orders from these indexes, it stops
-- at the few it hands out instead of reading and sorting every open item of the project on each call.
create index project_items_open_work on project_items (project_id, usable_labels desc, id)
  where not complete and gold_answer is null;
create index project_items_open_gold on project_items (project_id, id) where not complete and gold_answer is not null;

-- What one labeler has been shown of a project (its share of gold), without reading every assignment.
create index task_assignments_device_project on task_assignments (device, project_id);
