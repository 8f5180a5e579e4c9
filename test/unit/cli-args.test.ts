import { describe, expect, it } from 'vitest';
import { parseInvocation } from '../../src/cli/args.js';
import { commandHelp, helpText } from '../../src/cli/help.js';

describe('parseInvocation', () => {
  it.each([
    [['help', 'run'], { kind: 'help', command: 'run' }],
    [['run', '--help'], { kind: 'help', command: 'run' }],
    [['run', 'migration', '-h'], { kind: 'help', command: 'run' }],
    [['runs', 'list', '--help'], { kind: 'help', command: 'runs' }],
    [['help'], { kind: 'help' }],
    [['--help'], { kind: 'help' }],
    [['help', 'bogus'], { kind: 'usage', message: "unknown command 'bogus'" }],
    [['run', '--bogus', '--help'], { kind: 'help', command: 'run' }],
  ])('%j asks for help', (args, expected) => {
    expect(parseInvocation(args)).toEqual(expected);
  });

  it('takes --inspect alone, --inspect=<url> and --inspect-url <url>', () => {
    expect(parseInvocation(['run', 'migration', '--inspect'])).toMatchObject({
      kind: 'command',
      positionals: ['migration'],
      values: { inspect: true },
    });
    // A bare --inspect does not swallow the next word.
    expect(parseInvocation(['run', '--inspect', 'migration'])).toMatchObject({
      positionals: ['migration'],
      values: { inspect: true },
    });
    expect(parseInvocation(['run', 'migration', '--inspect=ws://h:1'])).toMatchObject({
      values: { inspect: 'ws://h:1' },
    });
    expect(parseInvocation(['run', 'migration', '--inspect-url', 'ws://h:1'])).toMatchObject({
      values: { 'inspect-url': 'ws://h:1' },
    });
  });

  it.each([
    [['run', 'x', '--db'], "option '--db' needs a value"],
    [['demo', '--json=yes'], "option '--json' takes no value"],
    [['run', 'x', '--fail'], "unknown option '--fail' for 'run'"],
    [['list', 'x'], "unexpected argument 'x' for 'list'"],
    [['--bogus'], 'missing command'],
  ])('%j is a usage mistake', (args, message) => {
    expect(parseInvocation(args)).toEqual({ kind: 'usage', message });
  });

  it('passes a raw command its arguments', () => {
    expect(parseInvocation(['runs', 'list', '--store', 'sqlite:x'])).toEqual({
      kind: 'raw',
      command: 'runs',
      args: ['list', '--store', 'sqlite:x'],
    });
  });
});

describe('help', () => {
  it("a command's help has its usage, options, examples and exit codes", () => {
    const text = commandHelp('run');
    expect(text).toMatch(/^Usage: flowstate run <template> \[options\]\n/);
    expect(text).toContain('--inspect[=<url>]');
    expect(text).toContain('Examples:');
    expect(text).toContain('130 Ctrl-C');
    expect(commandHelp('list')).toContain('Options:\n  -h, --help');
  });

  it('the global help points to the command help', () => {
    expect(helpText('1.2.3')).toContain("Run 'flowstate help <command>'");
  });
});
