-- A payment's row is written only over the version (its `updated_at`) its writer read. A writer
-- that lost the payment's lock (its lock's connection cut, the database restarted) while another
-- request or instance took the payment on would otherwise write its older view over the newer.
-- A write made as one statement with others (see `store::combined`) must then fail as a whole:
-- its `UPDATE` calls this where the version moved on, and the statement, and everything written
-- with it, is rolled back.
CREATE FUNCTION kasse_changed_meanwhile(reference TEXT) RETURNS BIGINT LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'payment % changed meanwhile', reference USING ERRCODE = 'serialization_failure';
END
$$;
