/**
 * The hub's view of the EVM chain it pays on: one ERC-20 token and one treasury account whose
 * key only this hub uses. Everything payouts need and nothing more: nonces, fees, signing a
 * transfer without sending it, sending raw bytes, and asking what became of a transaction.
 *
 * The treasury key stays inside this object (the Wallet); it is never logged or returned.
 */
import { Contract, ContractFactory, FetchRequest, Interface, JsonRpcProvider, Network, Transaction, Wallet, getAddress, isHexString, type TransactionRequest } from 'ethers';
import { tokenArtifact } from './contracts/artifact.js';

export interface ChainConfig {
  /** JSON-RPC endpoint, e.g. http://127.0.0.1:8545. */
  rpcUrl: string;
  /** The ERC-20 the hub pays in. */
  token: string;
  /** Private key (0x + 64 hex digits) of the treasury account that holds the tokens. */
  treasuryKey: string;
  /** Blocks a payout's transaction needs before it counts as confirmed; default 1. */
  confirmations?: number;
}

export interface TokenInfo {
  address: string;
  symbol: string;
  decimals: number;
}

export interface ReceiptInfo {
  ok: boolean;
  blockNumber: number;
  confirmations: number;
}

const ERC20 = new Interface([
  'function transfer(address to, uint256 value) returns (bool)',
  'function balanceOf(address owner) view returns (uint256)',
  'function symbol() view returns (string)',
  'function decimals() view returns (uint8)',
  'event Transfer(address indexed from, address indexed to, uint256 value)',
]);

/** RPC calls give up after this long, so that nothing waits on a dead node for minutes. */
export const RPC_TIMEOUT_MS = 15_000;

function providerFor(rpcUrl: string, chainId: number): JsonRpcProvider {
  const request = new FetchRequest(rpcUrl);
  request.timeout = RPC_TIMEOUT_MS;
  return new JsonRpcProvider(request, undefined, { staticNetwork: Network.from(chainId), batchMaxCount: 1, pollingInterval: 1000 });
}

/** The `eth_chainId` of an endpoint, asked once without ethers' retrying network detection. */
export async function rpcChainId(rpcUrl: string, timeoutMs = 10_000): Promise<number> {
  let res: Response;
  try {
    res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new Error(`cannot reach the chain at ${rpcUrl}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const body = (await res.json().catch(() => null)) as { result?: unknown } | null;
  if (typeof body?.result !== 'string' || !isHexString(body.result)) throw new Error(`${rpcUrl} did not answer eth_chainId`);
  return Number(BigInt(body.result));
}

export class Chain {
  private constructor(
    readonly provider: JsonRpcProvider,
    private readonly wallet: Wallet,
    readonly chainId: number,
    readonly token: TokenInfo,
    readonly confirmations: number,
  ) {}

  /** Connects and checks the configuration: a contract at `token` that answers like an ERC-20. */
  static async connect(cfg: ChainConfig): Promise<Chain> {
    const confirmations = cfg.confirmations ?? 1;
    if (!Number.isInteger(confirmations) || confirmations < 1) throw new RangeError('confirmations must be a whole number ≥ 1');
    if (!/^0x[0-9a-fA-F]{64}$/.test(cfg.treasuryKey)) throw new Error('the treasury key must be 0x followed by 64 hex digits');
    const chainId = await rpcChainId(cfg.rpcUrl);
    const provider = providerFor(cfg.rpcUrl, chainId);
    try {
      const address = getAddress(cfg.token);
      if ((await provider.getCode(address)) === '0x') throw new Error(`there is no contract at ${address} on chain ${chainId}`);
      const token = new Contract(address, ERC20, provider);
      const [symbol, decimals] = (await Promise.all([token.getFunction('symbol')(), token.getFunction('decimals')()])) as [string, bigint];
      const wallet = new Wallet(cfg.treasuryKey);
      return new Chain(provider, wallet, chainId, { address, symbol, decimals: Number(decimals) }, confirmations);
    } catch (err) {
      provider.destroy();
      throw err;
    }
  }

  /** The treasury's address (never its key). */
  get treasury(): string {
    return this.wallet.address;
  }

  /** Nonce of the treasury's next transaction, counting ones still waiting in the mempool. */
  pendingNonce(): Promise<number> {
    return this.provider.getTransactionCount(this.treasury, 'pending');
  }

  /** How many transactions of `address` are mined (= the next nonce the chain will accept). */
  minedNonce(address: string): Promise<number> {
    return this.provider.getTransactionCount(address, 'latest');
  }

  async tokenBalance(address: string): Promise<bigint> {
    return (await new Contract(this.token.address, ERC20, this.provider).getFunction('balanceOf')(address)) as bigint;
  }

  /**
   * Checks that the treasury can pay `amount` to `to` now (estimating gas fails when it cannot)
   * and returns the gas limit to sign with.
   */
  async gasForTransfer(to: string, amount: bigint): Promise<bigint> {
    const estimate = await this.provider.estimateGas({ from: this.treasury, to: this.token.address, data: ERC20.encodeFunctionData('transfer', [to, amount]) });
    return (estimate * 3n) / 2n;
  }

  /** Signs, without sending, a transfer of `amount` to `to` with the treasury nonce `nonce`. */
  async signTransfer(to: string, amount: bigint, nonce: number, gasLimit: bigint): Promise<{ raw: string; hash: string }> {
    const fees = await this.provider.getFeeData();
    const tx: TransactionRequest = {
      chainId: this.chainId,
      nonce,
      to: this.token.address,
      data: ERC20.encodeFunctionData('transfer', [getAddress(to), amount]),
      value: 0n,
      gasLimit,
    };
    if (fees.maxFeePerGas !== null && fees.maxPriorityFeePerGas !== null) {
      tx.type = 2;
      // Room for the base fee to double before it is mined.
      tx.maxFeePerGas = fees.maxFeePerGas * 2n;
      tx.maxPriorityFeePerGas = fees.maxPriorityFeePerGas;
    } else {
      tx.type = 0;
      tx.gasPrice = fees.gasPrice ?? 1_000_000_000n;
    }
    const raw = await this.wallet.signTransaction(tx);
    return { raw, hash: Transaction.from(raw).hash! };
  }

  /** Sends signed bytes. Errors are returned, not thrown: the caller asks the chain what happened. */
  async broadcast(raw: string): Promise<{ ok: true } | { ok: false; error: string }> {
    try {
      await this.provider.broadcastTransaction(raw);
      return { ok: true };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message.slice(0, 300) : String(err) };
    }
  }

  /** The receipt of a mined transaction, or null while it is not mined. */
  async receipt(hash: string): Promise<ReceiptInfo | null> {
    const r = await this.provider.getTransactionReceipt(hash);
    if (!r) return null;
    // Asked directly: ethers caches the block number for a while.
    const latest = Number(BigInt((await this.provider.send('eth_blockNumber', [])) as string));
    return { ok: r.status === 1, blockNumber: r.blockNumber, confirmations: Math.max(0, latest - r.blockNumber + 1) };
  }

  /**
   * What the node knows of a transaction by its hash (eth_getTransactionByHash): `pending` while
   * it waits in the mempool, `mined` once in a block (its receipt may still be missing on a node
   * whose receipts lag behind its blocks), null when the node has never heard of it.
   */
  async lookup(hash: string): Promise<'pending' | 'mined' | null> {
    const tx = await this.provider.getTransaction(hash);
    if (!tx) return null;
    return tx.blockNumber === null ? 'pending' : 'mined';
  }

  /** Transfer events of the token from `from` to `to` (tests and audits). */
  async transfers(from: string | null, to: string | null): Promise<{ from: string; to: string; value: bigint; txHash: string }[]> {
    const contract = new Contract(this.token.address, ERC20, this.provider);
    const logs = await contract.queryFilter(contract.filters.Transfer!(from, to), 0, 'latest');
    return logs.map((l) => {
      const parsed = ERC20.parseLog(l)!;
      return { from: parsed.args[0] as string, to: parsed.args[1] as string, value: parsed.args[2] as bigint, txHash: l.transactionHash };
    });
  }

  close(): void {
    this.provider.destroy();
  }
}

/** Deploys the Idleforge token with `deployerKey`, minting `supply` to `holder`; returns its address. */
export async function deployToken(rpcUrl: string, deployerKey: string, holder: string, supply: bigint): Promise<string> {
  const provider = providerFor(rpcUrl, await rpcChainId(rpcUrl));
  try {
    const { abi, bytecode } = tokenArtifact();
    const deployer = new Wallet(deployerKey, provider);
    const factory = new ContractFactory(abi as never, bytecode, deployer);
    const contract = await factory.deploy(holder, supply);
    await contract.waitForDeployment();
    return getAddress(await contract.getAddress());
  } finally {
    provider.destroy();
  }
}

/** Sends `amount` of `token` from the key's account to `to` and waits for it to be mined. */
export async function transferToken(rpcUrl: string, fromKey: string, token: string, to: string, amount: bigint): Promise<void> {
  const provider = providerFor(rpcUrl, await rpcChainId(rpcUrl));
  try {
    const contract = new Contract(token, ERC20, new Wallet(fromKey, provider));
    const tx = (await contract.getFunction('transfer')(to, amount)) as { wait(): Promise<unknown> };
    await tx.wait();
  } finally {
    provider.destroy();
  }
}
