-- A lease call counts the device's live leases (the per-device cap): let it read an index, not the table.
create index assignments_device_live on assignments (device) where state = 'leased';
create index task_assignments_device_live on task_assignments (device) where state = 'leased';
