import { readFileSync } from 'node:fs';
import { parsePolicyOrThrow } from '../../src/policy/parse.ts';
import type { Policy } from '../../src/policy/types.ts';

export function fixturePolicy(name: string): Policy {
  return parsePolicyOrThrow(readFileSync(new URL(`../fixtures/policies/${name}.yaml`, import.meta.url), 'utf8'));
}

export const design = fixturePolicy('design');
export const upstream = fixturePolicy('upstream');
export const hamiDefaults = fixturePolicy('hami');
export const clouds = fixturePolicy('clouds');
