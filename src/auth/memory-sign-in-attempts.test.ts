import { describeSignInAttemptsContract } from '../testing/contract/sign-in-attempts.contract.ts'
import { MemorySignInAttempts } from './memory-sign-in-attempts.ts'

// One process's memory: every view is the one table (the embedded shape has one process).
describeSignInAttemptsContract('memory', async () => {
  const attempts = new MemorySignInAttempts()
  return { view: () => attempts, cleanup: async () => {} }
})
