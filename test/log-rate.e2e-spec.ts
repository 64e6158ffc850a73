import { describe, expect, it } from '@jest/globals';
import { Agent, request } from 'node:http';
import { Controller, Get } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApproovGuard, ApproovModule, type ApproovResultEvent } from 'nestjs-approov';
import { ADAPTERS, handlerCalls, logs, ran, TestApp } from './support/test-app.js';
import { header, mint, SECRET } from './support/tokens.js';

@Controller()
class FloodController {
  @Get('data')
  data(): object {
    return ran('data');
  }
}

const FORGED = 7_000;
const MISSING = 3_000;
const SUMMARY = /^Approov: ([\d,]+) more failures in the last \d+ s: (.*)$/;

/** Sends `count` GETs of `/data` with `headers`, 50 at a time over kept-alive sockets. */
async function flood(
  address: string,
  count: number,
  headers: Record<string, string>,
): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 50 });
  const statuses: number[] = [];
  let sent = 0;
  const worker = async () => {
    while (sent < count) {
      sent += 1;
      statuses.push(
        await new Promise<number>((resolve, reject) => {
          const sending = request(`${address}/data`, { agent, headers }, (response) => {
            response.resume();
            response.on('end', () => resolve(response.statusCode!));
          });
          sending.on('error', reject);
          sending.end();
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: 50 }, worker));
  agent.destroy();
  return statuses;
}

/** Failures by reason, from the lines written and the summaries. */
function countsOf(lines: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  const add = (reason: string, count: number) => (counts[reason] = (counts[reason] ?? 0) + count);
  for (const line of lines) {
    const summary = SUMMARY.exec(line);
    if (summary !== null) {
      let total = 0;
      for (const part of summary[2].split(', ')) {
        const [reason, count] = part.split(' ');
        const n = Number(count.replaceAll(',', ''));
        add(reason, n);
        total += n;
      }
      expect(total).toBe(Number(summary[1].replaceAll(',', '')));
    } else {
      add(/rejected: (\w+)/.exec(line)![1], 1);
    }
  }
  return counts;
}

describe.each(ADAPTERS)('failure lines under a flood (%s)', (adapter) => {
  const start = (logRate: number, events: ApproovResultEvent[]) =>
    TestApp.start(adapter, {
      imports: [
        ApproovModule.forRoot({ secret: SECRET, logRate, onResult: (e) => events.push(e) }),
      ],
      controllers: [FloodController],
      providers: [{ provide: APP_GUARD, useClass: ApproovGuard }],
    });

  it('writes at most logRate lines a second, and sums up the rest with exact counts', async () => {
    const events: ApproovResultEvent[] = [];
    const app = await start(10, events);
    logs.clear();
    handlerCalls.length = 0;
    const startedAt = performance.now();
    const forged = await flood(app.address, FORGED, header(`${mint().slice(0, -4)}AAAA`));
    const missing = await flood(app.address, MISSING, {});
    const seconds = (performance.now() - startedAt) / 1000;
    // Closing the app writes the summary of what the last interval left out.
    await app.close();
    expect([...forged, ...missing].every((status) => status === 401)).toBe(true);
    expect(handlerCalls).toEqual([]);
    const written = logs.lines.filter((line) => !SUMMARY.test(line));
    const summaries = logs.lines.filter((line) => SUMMARY.test(line));
    // At most 10 in each second the flood lasted, begun or not, and one summary per 10 s.
    expect(written.length).toBeGreaterThanOrEqual(10);
    expect(written.length).toBeLessThanOrEqual(10 * (Math.ceil(seconds) + 1));
    expect(summaries.length).toBeGreaterThanOrEqual(1);
    expect(summaries.length).toBeLessThanOrEqual(Math.ceil(seconds / 10) + 1);
    expect(countsOf(logs.lines)).toEqual({ bad_signature: FORGED, missing_token: MISSING });
    // onResult still receives every decision.
    expect(events).toHaveLength(FORGED + MISSING);
    expect(logs.lines.join('\n')).not.toContain('eyJ');
  }, 60_000);

  it('writes every line with logRate: Infinity', async () => {
    const events: ApproovResultEvent[] = [];
    const app = await start(Infinity, events);
    logs.clear();
    await flood(app.address, FORGED, header(`${mint().slice(0, -4)}AAAA`));
    await app.close();
    expect(logs.lines).toHaveLength(FORGED);
    expect(logs.lines.every((line) => line.includes('rejected: bad_signature'))).toBe(true);
    expect(events).toHaveLength(FORGED);
  }, 60_000);
});
