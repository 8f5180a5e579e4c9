import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Makes HypoPG loadable by the test server: the tests' PostgreSQL is Debian's build (/usr/local/bin/postgres
 * links to /usr/lib/postgresql/<major>/bin), so Debian's postgresql-<major>-hypopg package matches it. Installs
 * the package when its library is missing, as .ci/run installs PostgreSQL. Returns whether it is there.
 */
export function ensureHypopg(): boolean {
  let major: string | undefined;
  try {
    major = /\(PostgreSQL\) (\d+)/.exec(execFileSync('postgres', ['--version'], { encoding: 'utf8' }))?.[1];
  } catch {
    return false;
  }
  if (major === undefined) return false;
  const library = `/usr/lib/postgresql/${major}/lib/hypopg.so`;
  if (existsSync(library)) return true;
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () =>
      execFileSync('apt-get', ['install', '-y', '-qq', `postgresql-${major}-hypopg`], {
        env,
        stdio: 'ignore',
      });
    try {
      install();
    } catch {
      execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore' });
      install();
    }
  } catch {
    return false;
  }
  return existsSync(library);
}
