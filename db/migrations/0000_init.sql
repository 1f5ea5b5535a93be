CREATE TABLE `accounts` (
	`id` blob PRIMARY KEY NOT NULL,
	`balance` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `checkpoints` (
	`window` integer PRIMARY KEY NOT NULL,
	`hash` blob NOT NULL,
	`certificate` blob NOT NULL,
	`agreed_at_ms` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` blob NOT NULL
);
--> statement-breakpoint
CREATE TABLE `payments` (
	`seq` integer PRIMARY KEY NOT NULL,
	`id` blob NOT NULL,
	`signed_part` blob NOT NULL,
	`bytes` blob NOT NULL,
	`payer` blob NOT NULL,
	`payee` blob NOT NULL,
	`id_key` integer NOT NULL,
	`payer_key` integer NOT NULL,
	`payee_key` integer NOT NULL,
	`amount` integer NOT NULL,
	`timestamp_ms` integer NOT NULL,
	`window` integer NOT NULL,
	`accepted_at_ms` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `payments_signed_part_unique` ON `payments` (`signed_part`);--> statement-breakpoint
CREATE INDEX `payments_id_key` ON `payments` (`id_key`);--> statement-breakpoint
CREATE INDEX `payments_payer_key_seq` ON `payments` (`payer_key`,`seq`);--> statement-breakpoint
CREATE INDEX `payments_payee_key_seq` ON `payments` (`payee_key`,`seq`);--> statement-breakpoint
CREATE INDEX `payments_window_seq` ON `payments` (`window`,`seq`);