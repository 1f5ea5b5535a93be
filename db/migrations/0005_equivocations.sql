CREATE TABLE `equivocations` (
	`window` integer NOT NULL,
	`server` blob NOT NULL,
	`first` blob NOT NULL,
	`second` blob NOT NULL,
	`found_at_ms` integer NOT NULL,
	PRIMARY KEY(`window`, `server`)
);
