#!/usr/bin/env node
/**
 * `wsgiscope-collector`: parse the config, start, print the one listening line, and exit 0
 * on SIGTERM/SIGINT after closing the server. `wsgiscope-collector diagnose --url URL` asks a
 * running collector for its findings instead (diagnosis/command.ts).
 */
import { ConfigError, helpText, parseConfig } from './config';
import { startCollector } from './collector';
import { diagnoseCommand } from './diagnosis/command';

/** Resolves on the first SIGTERM/SIGINT; installed before anything starts, kept until exit. */
function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string): void => {
      resolve(signal);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

async function main(): Promise<number> {
  if (process.argv[2] === 'diagnose') {
    return diagnoseCommand(process.argv.slice(3), {
      out: (text) => process.stdout.write(text),
      err: (text) => process.stderr.write(text),
    });
  }
  const stopped = stopSignal();
  let parsed;
  try {
    parsed = parseConfig(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`wsgiscope-collector: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (parsed.help) {
    process.stdout.write(`${helpText()}\n`);
    return 0;
  }
  const running = await startCollector(parsed.config);
  process.stdout.write(`wsgiscope-collector listening on ${running.url}\n`);
  if (running.otlpGrpcPort !== undefined) {
    process.stdout.write(`wsgiscope-collector OTLP/gRPC listening on ${parsed.config.otlpGrpcHost}:${String(running.otlpGrpcPort)}\n`);
  }
  if (running.metricsExporter !== undefined) process.stdout.write(`wsgiscope-collector ${running.metricsExporter.describe()}\n`);
  if (running.tracesExporter !== undefined) process.stdout.write(`wsgiscope-collector ${running.tracesExporter.describe()}\n`);
  await stopped;
  await running.close();
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`wsgiscope-collector: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
