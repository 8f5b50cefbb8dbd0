import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { processIO } from '../output.js';
import { allCommands, type CommandModule } from './index.js';
import { commandModuleFor, commandModules } from './by-name.js';

test('every command and alias a module registers is in the table, with that module, and nothing else is', async () => {
  const names = new Map<CommandModule, string[]>();
  for (const [name, load] of Object.entries(commandModules)) {
    const mod = await load();
    names.set(mod, [...(names.get(mod) ?? []), name]);
  }
  for (const mod of allCommands) {
    const program = new Command('ferry');
    mod.register(program, processIO);
    const registered = program.commands.flatMap((c) => [c.name(), ...c.aliases()]).sort();
    assert.deepEqual((names.get(mod) ?? []).sort(), registered, `the table's names for the module registering ${registered.join(', ')}`);
  }
  assert.equal(names.size, allCommands.length, 'every module in the table is one of the program\'s');
});

test('the command a run names, past the program\'s own options; the whole program otherwise', async () => {
  const argv = (...a: string[]): string[] => ['node', 'ferry', ...a];
  assert.equal(await commandModuleFor(argv('functions', 'list'))?.(), await commandModules['functions']!());
  assert.equal(await commandModuleFor(argv('--url', 'http://h:1', '--token', 't', 'pool'))?.(), await commandModules['instances']!());
  assert.equal(await commandModuleFor(argv('--url=http://h:1', 'invites', 'create'))?.(), await commandModules['whoami']!());
  for (const whole of [argv(), argv('--help'), argv('-V'), argv('help', 'functions'), argv('nosuch'), argv('toString'), argv('--url', 'u'), argv('--verbose', 'functions')]) {
    assert.equal(commandModuleFor(whole), undefined, whole.join(' '));
  }
});
