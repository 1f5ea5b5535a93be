CREATE TABLE `checkpoints` (
	`window` integer PRIMARY KEY NOT NULL,
	`hash` blob NOT NULL,
	`certificate` blob NOT NULL,
	`agreed_at_ms` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `payments_window_seq` ON `payments` (`window`,`seq`);