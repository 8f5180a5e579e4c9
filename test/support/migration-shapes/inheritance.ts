/**
 * Shapes on inherited tables: a parent's defaults, NOT NULLs, columns and types with children that have their own,
 * inheritances added and let go, and rows of children reached through their parent.
 */
import type { ShapeGroup } from './shape.js';
import { GENERATIONS, VEHICLES } from './starting-tables.js';

export const INHERITANCE: ShapeGroup = {
  reverted: [
    {
      name: "a parent's default, with a child that had it already",
      setup: (s) => [...VEHICLES(s), `ALTER TABLE ${s}.truck ALTER COLUMN note SET DEFAULT 'x'`],
      sql: (s) => `ALTER TABLE ${s}.vehicle ALTER COLUMN note SET DEFAULT 'x'`,
      rows: ['vehicle', 'truck'],
    },
    {
      name: "a parent's NOT NULL, with a child that had it already",
      setup: (s) => [...VEHICLES(s), `ALTER TABLE ${s}.truck ALTER COLUMN note SET NOT NULL`],
      sql: (s) => `ALTER TABLE ${s}.vehicle ALTER COLUMN note SET NOT NULL`,
      rows: ['vehicle', 'truck'],
    },
    {
      name: "a parent's column dropped, redefined by its child with its own default",
      setup: (s) => [
        `CREATE TABLE ${s}.vehicle (id text PRIMARY KEY, note text NOT NULL DEFAULT 'p')`,
        `CREATE TABLE ${s}.truck (note text NOT NULL DEFAULT 'c', load int) INHERITS (${s}.vehicle)`,
        `INSERT INTO ${s}.vehicle VALUES ('V1', 'a')`,
        `INSERT INTO ${s}.truck VALUES ('T1', 'big', 3)`,
      ],
      sql: (s) => `ALTER TABLE ${s}.vehicle DROP COLUMN note`,
      rows: ['vehicle', 'truck'],
    },
    {
      name: 'an inheritance removed',
      setup: VEHICLES,
      sql: (s) => `ALTER TABLE ${s}.truck NO INHERIT ${s}.vehicle`,
      rows: ['vehicle', 'truck'],
    },
    {
      name: 'an inheritance added',
      setup: (s) => [...VEHICLES(s), `CREATE TABLE ${s}.van (id text NOT NULL, note text, seats int)`],
      sql: (s) => `ALTER TABLE ${s}.van INHERIT ${s}.vehicle`,
      rows: ['vehicle', 'van'],
    },
    {
      name: "a parent's column type, inherited by its child",
      setup: VEHICLES,
      sql: (s) => `ALTER TABLE ${s}.vehicle ALTER COLUMN note TYPE varchar(200)`,
      rows: ['vehicle', 'truck'],
    },
    {
      name: 'a column declared by the child too, retyped on the parent',
      setup: (s) => [
        `CREATE TABLE ${s}.vehicle (id text PRIMARY KEY, note text)`,
        `CREATE TABLE ${s}.truck (note text, load int) INHERITS (${s}.vehicle)`,
        `INSERT INTO ${s}.truck VALUES ('T1', 'big', 3)`,
      ],
      sql: (s) => `ALTER TABLE ${s}.vehicle ALTER COLUMN note TYPE varchar(200)`,
      rows: ['vehicle', 'truck'],
    },
    {
      name: "a parent's default, with a child that has its own",
      setup: (s) => [...VEHICLES(s), `ALTER TABLE ${s}.truck ALTER COLUMN note SET DEFAULT 'own'`],
      sql: (s) => `ALTER TABLE ${s}.vehicle ALTER COLUMN note SET DEFAULT 'x'`,
      rows: ['vehicle', 'truck'],
    },
    {
      name: 'a parent dropped with its children (CASCADE)',
      setup: VEHICLES,
      sql: (s) => `DROP TABLE ${s}.vehicle CASCADE`,
      rows: ['vehicle', 'truck'],
    },
    {
      name: 'a grandchild dropped (three levels of inheritance)',
      setup: GENERATIONS,
      sql: (s) => `DROP TABLE ${s}.bigtruck`,
      rows: ['vehicle', 'truck', 'bigtruck'],
    },
    {
      name: 'one of two parents let go (the order of parents comes back)',
      setup: (s) => [
        `CREATE TABLE ${s}.a (id int NOT NULL, x int)`,
        `CREATE TABLE ${s}.b (id int NOT NULL, y int)`,
        `CREATE TABLE ${s}.c (z int) INHERITS (${s}.a, ${s}.b)`,
        `INSERT INTO ${s}.c VALUES (1, 2, 3, 4)`,
      ],
      sql: (s) => `ALTER TABLE ${s}.c NO INHERIT ${s}.a`,
      rows: ['a', 'b', 'c'],
    },
    {
      name: "a child's row deleted through its parent",
      setup: VEHICLES,
      sql: (s) => `DELETE FROM ${s}.vehicle WHERE id = 'T1'`,
      rows: ['vehicle', 'truck'],
    },
    {
      name: 'a parent without a key truncated, with its child',
      setup: (s) => [
        `CREATE TABLE ${s}.vehicle (id text, note text)`,
        `CREATE TABLE ${s}.truck (load int) INHERITS (${s}.vehicle)`,
        `INSERT INTO ${s}.vehicle VALUES ('V1', 'a'), ('V1', 'a')`,
        `INSERT INTO ${s}.truck VALUES ('T1', 'big', 3)`,
      ],
      sql: (s) => `TRUNCATE ${s}.vehicle`,
      rows: ['vehicle', 'truck'],
    },
  ],
  applied: [
    {
      name: "a parent's column dropped, inherited by its child",
      setup: VEHICLES,
      sql: (s) => `ALTER TABLE ${s}.vehicle DROP COLUMN note`,
      rows: [],
    },
    {
      name: "a column added on a grandparent, beside a child's own default",
      setup: (s) => [...GENERATIONS(s), `ALTER TABLE ${s}.truck ALTER COLUMN note SET DEFAULT 'c'`],
      sql: (s) => `ALTER TABLE ${s}.vehicle ADD COLUMN color text`,
      rows: [],
    },
  ],
};
