import type { FastifyInstance } from 'fastify'
import { buildExampleApp } from './app.js'
import { readConfig } from './config.js'

// The entry of `npm run example`: environment in, one log line out, clean exit on SIGINT/SIGTERM.

async function start (): Promise<FastifyInstance> {
  const config = readConfig(process.env)
  const app = await buildExampleApp({ ...config, logger: { level: 'info' } })
  if (config.jwtSecretGenerated) {
    app.log.warn('JWT_SECRET is not set: signing with a random secret, so tokens stop working when the server restarts')
  }
  try {
    await app.listen({
      port: config.port,
      host: config.host,
      listenTextResolver: (address) => `Example server on ${address} (docs: ${address}/docs)`
    })
  } catch (error) {
    await app.close()
    throw error
  }
  return app
}

let app: FastifyInstance
try {
  app = await start()
} catch (error) {
  // Bad settings, an unusable DATABASE or a taken PORT: one clear line, no stack trace
  process.stderr.write(`Example server not started: ${(error as Error).message}\n`)
  process.exit(1)
}

let closing: Promise<void> | undefined
function closeOnSignal (): void {
  // A second signal while closing (npx and tsx relay theirs too) joins the same close;
  // once the server and the database are closed nothing is left and the process exits 0
  closing ??= app.close()
}
process.on('SIGINT', closeOnSignal)
process.on('SIGTERM', closeOnSignal)
