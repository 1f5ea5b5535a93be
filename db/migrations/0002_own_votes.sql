CREATE TABLE `own_votes` (
	`window` integer PRIMARY KEY NOT NULL,
	`bytes` blob NOT NULL,
	`cast_at_ms` integer NOT NULL
);
