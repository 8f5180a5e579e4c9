import { describe, expect, it } from 'vitest';
import { CorruptRunError, StoredFormatError } from '../../src/index.js';
import {
  checkStoredFormat,
  FORMAT_FIELD,
  formatAtStart,
  refuseNewerAtStart,
  STORED_FORMAT,
  UNNUMBERED_FORMAT,
  withStoredFormat,
} from '../../src/persistence/stored-format.js';

const persisted = { status: 'active', value: 'a', context: { input: 1 } };

describe('the stored format', () => {
  it('is a whole number past the unnumbered format', () => {
    expect(Number.isSafeInteger(STORED_FORMAT)).toBe(true);
    expect(STORED_FORMAT).toBeGreaterThan(UNNUMBERED_FORMAT);
  });

  it("is written first, before the snapshot's fields and the extra ones, the snapshot given left as it was", () => {
    const text = JSON.stringify(withStoredFormat(persisted, { flowstateEntries: { s: 2 } }));
    expect(text).toBe(
      `{"${FORMAT_FIELD}":${STORED_FORMAT},"status":"active","value":"a","context":{"input":1},"flowstateEntries":{"s":2}}`,
    );
    expect(JSON.stringify(withStoredFormat(persisted))).toBe(
      `{"${FORMAT_FIELD}":${STORED_FORMAT},"status":"active","value":"a","context":{"input":1}}`,
    );
    expect(persisted).not.toHaveProperty(FORMAT_FIELD);
  });

  it("is read from the text's opening without parsing it", () => {
    expect(formatAtStart(JSON.stringify(withStoredFormat(persisted)))).toBe(STORED_FORMAT);
    expect(formatAtStart(`{"${FORMAT_FIELD}":12,"status":"active"}`)).toBe(12);
    expect(formatAtStart(`{"${FORMAT_FIELD}":3}`)).toBe(3);
    // Not opening with a well-formed field: left to the parsed check.
    for (const text of [
      '{"status":"active"}',
      `{"status":"active","${FORMAT_FIELD}":3}`,
      `{"${FORMAT_FIELD}":"3","status":"active"}`,
      `{"${FORMAT_FIELD}":-3,"status":"active"}`,
      `{"${FORMAT_FIELD}":0,"status":"active"}`,
      `{"${FORMAT_FIELD}":3.5,"status":"active"}`,
      `{"${FORMAT_FIELD}":1e3,"status":"active"}`,
      `{"${FORMAT_FIELD}":12345678901,"status":"active"}`,
      '',
    ])
      expect(formatAtStart(text), text).toBeUndefined();
  });

  it('refuses a newer format from the opening with the typed error naming the run and both formats', () => {
    expect(() => refuseNewerAtStart(JSON.stringify(withStoredFormat(persisted)), 'r1')).not.toThrow();
    expect(() => refuseNewerAtStart('{"status":"active"}', 'r1')).not.toThrow();
    const newer = `{"${FORMAT_FIELD}":${STORED_FORMAT + 1},"status":"active"}`;
    expect(() => refuseNewerAtStart(newer, 'r1')).toThrow(StoredFormatError);
    try {
      refuseNewerAtStart(newer, 'r1');
    } catch (error) {
      expect(error).toMatchObject({
        code: 'STORED_FORMAT_UNSUPPORTED',
        workflowId: 'r1',
        storedFormat: STORED_FORMAT + 1,
        readableFormat: STORED_FORMAT,
      });
      expect((error as Error).message).toMatch(
        new RegExp(`'r1'.*format ${STORED_FORMAT + 1}.*up to ${STORED_FORMAT}.*upgrade Flowstate`),
      );
    }
  });

  it('takes the field off a parsed snapshot of a format this build reads', () => {
    for (const format of [UNNUMBERED_FORMAT, STORED_FORMAT]) {
      const parsed = { [FORMAT_FIELD]: format, ...persisted };
      checkStoredFormat(parsed, 'r1');
      expect(parsed).toEqual(persisted);
    }
    const unnumbered = { ...persisted };
    checkStoredFormat(unnumbered, 'r1');
    expect(unnumbered).toEqual(persisted);
    expect(() => checkStoredFormat(undefined, 'r1')).not.toThrow();
  });

  it('refuses a parsed snapshot of a newer format, wherever the field is, and leaves it as it was', () => {
    const parsed = { ...persisted, [FORMAT_FIELD]: STORED_FORMAT + 7 };
    expect(() => checkStoredFormat(parsed, 'r1')).toThrow(StoredFormatError);
    expect(parsed[FORMAT_FIELD]).toBe(STORED_FORMAT + 7);
  });

  it('refuses a field that is not a format as a corrupt run, not a crash', () => {
    for (const format of ['2', -1, 0, 1.5, Number.NaN, Number.POSITIVE_INFINITY, null, true, {}, []]) {
      const parsed = { ...persisted, [FORMAT_FIELD]: format };
      expect(() => checkStoredFormat(parsed, 'r1'), String(format)).toThrow(CorruptRunError);
    }
  });
});
