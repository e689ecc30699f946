// @p2p-energy/sdk as an integrator gets it: `npm pack`, installed from the tarball into a project outside the
// repository, its example type-checked (strict, NodeNext) and run by node against a fresh market on anvil.
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { energyMarketAbi, energyTokenAbi } from '@p2p-energy/sdk';
import { createWalletClient, http, toHex, type Address } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../dev/paths.js';
import { ANVIL_KEYS, TEST_MNEMONIC } from '../dev/test-keys.js';
import { TOKEN_UNIT as TOKEN } from '../src/constants.js';
import { HOUR, setupMarket, type Fixture } from './fixture.js';

const run = promisify(execFile);
const sdkDir = path.join(repoRoot, 'packages', 'sdk');
/** The fixture's prosumers 0 and 1 (registered, funded, allowance given). */
const householdKey = (index: number) =>
  toHex(mnemonicToAccount(TEST_MNEMONIC, { addressIndex: 100 + index }).getHdKey().privateKey!);

describe('@p2p-energy/sdk from its tarball', () => {
  let f: Fixture;
  let project: string;
  let tarball: string;

  beforeAll(async () => {
    project = await mkdtemp(path.join(tmpdir(), 'sdk-integrator-'));
    // The dist that `make install` built (no prepack rebuild: other test files import it meanwhile).
    const pack = ['pack', '--json', '--ignore-scripts', '--pack-destination', project];
    const { stdout } = await run('npm', pack, { cwd: sdkDir });
    tarball = path.join(project, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
    f = await setupMarket({ prosumers: 2 });
  });

  afterAll(async () => {
    await f?.stop();
    if (project) await rm(project, { recursive: true, force: true });
  });

  it('packs the compiled JS, the declarations and the README; viem is a peer', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball]);
    const files = stdout.split('\n').filter(Boolean);
    for (const file of ['index.js', 'index.d.ts', 'node.js', 'node.d.ts', 'abi.js']) {
      expect(files).toContain(`package/dist/${file}`);
    }
    expect(files).toContain('package/README.md');
    expect(files).toContain('package/LICENSE');
    expect(files.some((f) => f.includes('/test/') || f.includes('examples/'))).toBe(false);
    const pkg = JSON.parse(await readFile(path.join(sdkDir, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg.peerDependencies).toEqual({ viem: expect.any(String) });
    expect(pkg.dependencies).toBeUndefined();
  });

  it('the README shows the example that this test runs', async () => {
    const readme = await readFile(path.join(sdkDir, 'README.md'), 'utf8');
    expect(readme).toContain(await readFile(path.join(sdkDir, 'examples', 'trade.ts'), 'utf8'));
  });

  it('installs outside the repository, type-checks the example and runs it with node against anvil', async () => {
    // The SDK comes from the tarball (peer checks off: viem, typescript and @types/node are linked from the
    // repository's node_modules so the test needs no registry).
    await writeFile(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'integrator', private: true, type: 'module' }),
    );
    await run('npm', ['install', '--offline', '--legacy-peer-deps', '--no-audit', '--no-fund', tarball], {
      cwd: project,
    });
    for (const dep of ['viem', 'typescript', '@types/node']) {
      await mkdir(path.dirname(path.join(project, 'node_modules', dep)), { recursive: true });
      await symlink(path.join(repoRoot, 'node_modules', dep), path.join(project, 'node_modules', dep), 'dir');
    }
    await writeFile(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noUncheckedIndexedAccess: true,
          outDir: 'out',
          types: ['node'],
        },
        files: ['example.ts'],
      }),
    );
    await copyFile(path.join(sdkDir, 'examples', 'trade.ts'), path.join(project, 'example.ts'));
    const tsc = path.join(project, 'node_modules', 'typescript', 'bin', 'tsc');
    await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project });

    const deploymentFile = path.join(project, 'deployment.json');
    await writeFile(deploymentFile, JSON.stringify(f.deployment));
    const [buyer, seller] = f.prosumers as [Fixture['prosumers'][0], Fixture['prosumers'][0]];
    const balance = (account: Address) =>
      f.publicClient.readContract({
        address: f.deployment.token,
        abi: energyTokenAbi,
        functionName: 'balanceOf',
        args: [account],
      });
    const before = { buyer: await balance(buyer.address), seller: await balance(seller.address) };
    const admin = createWalletClient({ chain: f.publicClient.chain, transport: http(f.anvil.url), account: f.admin });
    const send = async (call: Parameters<typeof admin.writeContract>[0]) => {
      const receipt = await f.publicClient.waitForTransactionReceipt({ hash: await admin.writeContract(call) });
      expect(receipt.status).toBe('success');
    };
    const market = { address: f.deployment.market, abi: energyMarketAbi } as const;
    const w = f.start;
    await f.setTime(w);
    await send({ ...market, functionName: 'openWindow' });

    const child = spawn(process.execPath, [path.join(project, 'out', 'example.js')], {
      cwd: project,
      env: {
        PATH: process.env.PATH ?? '',
        RPC_URL: f.anvil.url,
        DEPLOYMENT_FILE: deploymentFile,
        BUYER_KEY: householdKey(0),
        SELLER_KEY: householdKey(1),
        OPERATOR_KEY: ANVIL_KEYS[2],
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const deadline = Date.now() + 60_000;
    while (!stdout.includes('"placed"')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`example: ${stdout}\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(JSON.parse(stdout.split('\n')[0]!)).toEqual({ placed: w.toString() });

    // The keeper's part, done by the admin: close, meter readings, settle.
    await f.setTime(w + HOUR + 5n);
    await send({ ...market, functionName: 'closeWindow', args: [w, 100n] });
    await f.setTime(w + 2n * HOUR + 5n);
    const readings = [
      [buyer.address, seller.address],
      [1800n, 0n],
      [0n, 1600n],
    ] as const;
    await send({ ...market, functionName: 'submitMeterReadings', args: [w, ...readings] });
    await send({ ...market, functionName: 'settleWindow', args: [w, 100n] });
    expect(await exited, stderr).toBe(0);

    // Both orders fully known: the ask (1.5 kWh) is filled, the bid only partly, so the price is the bid's.
    const cost = ((1500n * 25n * TOKEN) / 1000n).toString();
    const report = JSON.parse(stdout.trim().split('\n')[1]!) as Record<string, unknown>;
    expect(report.window).toEqual({
      windowId: w.toString(),
      status: 'Settled',
      clearingPrice: (25n * TOKEN).toString(),
      clearedEnergyWh: '1500',
      orderCount: '2',
      tradeCount: '1',
      settledCount: '1',
      trades: [
        {
          index: '0',
          buyer: buyer.address,
          seller: seller.address,
          energyWh: '1500',
          status: 'Accepted',
          reason: 'None',
        },
      ],
    });
    expect(report.buyerTrades).toEqual([
      expect.objectContaining({
        windowId: w.toString(),
        index: '0',
        role: 'buyer',
        counterparty: seller.address,
        energyWh: '1500',
        status: 'Accepted',
        reason: 'None',
        cost,
      }),
    ]);
    expect(report.sellerStatements).toEqual([
      {
        windowId: w.toString(),
        boughtWh: '0',
        soldWh: '1500',
        paidWei: '0',
        receivedWei: cost,
        accepted: 1,
        rejected: 0,
        pending: 0,
      },
    ]);
    expect(await balance(buyer.address)).toBe(before.buyer - BigInt(cost));
    expect(await balance(seller.address)).toBe(before.seller + BigInt(cost));
  });
});
