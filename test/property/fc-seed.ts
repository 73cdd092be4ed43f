// One seed per test run for every fast-check property: LLM_CONFIG_TEST_SEED to replay
// a failure, the clock otherwise. fast-check prints the seed (and the shrunk path) in
// every failure message; `seedNote` puts it in the test output as well.

import fc from 'fast-check';

export const SEED = Number(process.env.LLM_CONFIG_TEST_SEED ?? Date.now() % 2 ** 31);
fc.configureGlobal({ seed: SEED });

export const seedNote = `fast-check seed ${SEED} (replay: LLM_CONFIG_TEST_SEED=${SEED})`;
