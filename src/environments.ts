// Environment names exactly as upstream accepts them: case-insensitive, not trimmed,
// always answered in canonical form.

export const CANONICAL_ENVIRONMENTS = ['base', 'development', 'staging', 'production', 'edge'] as const;
export type Environment = (typeof CANONICAL_ENVIRONMENTS)[number];

const ALIASES: Record<string, Environment> = {
  base: 'base',
  dev: 'development',
  development: 'development',
  stage: 'staging',
  staging: 'staging',
  prod: 'production',
  production: 'production',
  edge: 'edge',
};

export const ENVIRONMENT_CHOICES = 'base, development|dev, staging|stage, production|prod, edge';

/** Canonical name, or undefined for a name upstream would answer 400 to. */
export function canonicalEnvironment(input: string): Environment | undefined {
  return Object.hasOwn(ALIASES, input.toLowerCase()) ? ALIASES[input.toLowerCase()] : undefined;
}
