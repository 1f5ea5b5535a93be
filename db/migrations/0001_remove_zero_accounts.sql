-- An account exists only while its balance is above 0 (docs/PROTOCOL.md §2 rule 5). Ledgers written
-- before that rule kept emptied accounts at 0; remove them once. The state hash has no leaf for a
-- zero balance and the sum is unchanged, so the stored state hash stays valid.
DELETE FROM `accounts` WHERE `balance` = 0;
