// A store URL printed in a hint or an error never shows its password.
import { describe, expect, it } from 'vitest';
import { openStore, withoutPassword } from '../../src/cli/store-url.js';

describe('store URLs as printed', () => {
  it('mask the password, and leave a URL without one as it is', () => {
    expect(withoutPassword('postgres://app:s3cret@db:5432/flow')).toBe('postgres://app:***@db:5432/flow');
    expect(withoutPassword('postgresql://app@db/flow')).toBe('postgresql://app@db/flow');
    expect(withoutPassword('sqlite:./flow.db')).toBe('sqlite:./flow.db');
  });

  it('never show it in a usage error', () => {
    expect(() => openStore('postgres://app:s3cret@/flow')).toThrow(/postgres:\/\/app:\*\*\*@\/flow/);
    expect(() => openStore('postgres://app:s3cret@/flow')).not.toThrow(/s3cret/);
  });
});
