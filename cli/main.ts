#!/usr/bin/env node
import 'reflect-metadata';
import { runCli } from './cli.program.js';

const code = await runCli(process.argv.slice(2), { out: process.stdout, err: process.stderr });
process.exitCode = code;
