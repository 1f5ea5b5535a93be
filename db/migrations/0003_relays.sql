CREATE TABLE `relays` (
	`window` integer NOT NULL,
	`first` integer NOT NULL,
	`bytes` blob NOT NULL,
	PRIMARY KEY(`window`, `first`)
);
