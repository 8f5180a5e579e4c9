/** Roles the privilege and policy shapes grant to: made once per server (roles are the cluster's, not a database's). */
export const ROLES = ['flowstate_reader', 'flowstate_clerk'];

/** Statements making {@link ROLES} when missing (another database of the same server may have made them). */
export const MAKE_ROLES = () =>
  ROLES.map((r) => `DO $$ BEGIN CREATE ROLE ${r} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
