-- The activity log stops serialising writers: each transaction numbers its
-- entries from this sequence and writes them unsealed (empty prev_hash and
-- hash); one sealer at a time chains them afterwards, in order, and moves
-- activity_head, which now only the sealer locks.
CREATE SEQUENCE activity_seq;
SELECT setval('activity_seq', GREATEST(seq, 1), seq > 0) FROM activity_head WHERE id = 1;
CREATE INDEX activity_unsealed ON activity_log (seq) WHERE hash = '';
