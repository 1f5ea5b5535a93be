-- The state hash became a lattice hash (docs/PROTOCOL.md §6): the values of the old additive hash
-- are removed. The ledger no longer stores its state hash (it is a pure function of the accounts,
-- computed at open); the genesis state hash is written again at open from the network's genesis.
-- Checkpoints keep the hashes they were agreed with: the last one stays the base of the next
-- handover, and the first window after the upgrade is voted with the new hash.
DELETE FROM `meta` WHERE `key` IN ('state_hash', 'genesis_state_hash');
