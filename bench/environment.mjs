import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

const root = new URL('../', import.meta.url);

/** A dependency's version, read from its package.json in node_modules (some packages do not export that file). */
const versionOf = (name) => {
  try {
    return JSON.parse(readFileSync(new URL(`node_modules/${name}/package.json`, root), 'utf8')).version;
  } catch {
    return 'unknown';
  }
};

const git = (...args) => {
  try {
    return execFileSync('git', args, {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return '';
  }
};

/** The 1-minute load average, to tell whether other work shared the machine during the run. */
export function loadAverage() {
  return Number(os.loadavg()[0].toFixed(2));
}

/** What the figures were measured on and with. */
export function environment() {
  const cpus = os.cpus();
  const own = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
  const commit = git('rev-parse', '--short', 'HEAD');
  const dirty = git('status', '--porcelain', '--', 'src') !== '';
  return {
    date: new Date().toISOString(),
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGB: Math.round(os.totalmem() / 1024 ** 3),
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    node: process.version,
    flowstate: `${own.version}${commit ? ` @ ${commit}${dirty ? ' + uncommitted changes in src/' : ''}` : ''}`,
    xstate: versionOf('xstate'),
    tinybench: versionOf('tinybench'),
    pino: versionOf('pino'),
    load: loadAverage(),
  };
}
