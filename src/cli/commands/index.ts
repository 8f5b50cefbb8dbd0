/** Every `ferry` command, in the order `ferry --help` lists them. */
import type { Command } from 'commander';
import type { IO } from '../output.js';
import * as server from './server.js';
import * as tinyfaas from './tinyfaas.js';
import * as init from './init.js';
import * as deploy from './deploy.js';
import * as invoke from './invoke.js';
import * as runCommand from './run.js';
import * as functions from './functions.js';
import * as versions from './versions.js';
import * as aliases from './aliases.js';
import * as logs from './logs.js';
import * as executions from './executions.js';
import * as del from './delete.js';
import * as doctor from './doctor.js';
import * as keys from './keys.js';
import * as login from './login.js';
import * as users from './users.js';
import * as tokens from './tokens.js';
import * as secrets from './secrets.js';
import * as objects from './objects.js';
import * as configCommand from './config.js';
import * as instances from './instances.js';
import * as schedules from './schedules.js';
import * as invocations from './invocations.js';
import * as traffic from './traffic.js';
import * as clusterCommand from './cluster.js';
import * as autoscaler from './autoscaler.js';
import * as whoami from './whoami.js';
import * as openapi from './openapi.js';
import * as rootfs from './rootfs.js';
import * as up from './up.js';
import * as explain from './explain.js';

/** A command: it adds itself (its options, arguments and action) to the program. */
export interface CommandModule {
  register(program: Command, io: IO): void;
}

export const allCommands: readonly CommandModule[] = [server, tinyfaas, init, deploy, invoke, runCommand, functions, versions, aliases, logs, executions, del, doctor, keys, login, users, tokens, secrets, objects, configCommand, instances, schedules, invocations, traffic, clusterCommand, autoscaler, whoami, openapi, up, explain, rootfs];
