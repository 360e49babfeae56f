/**
 * Balances from the configured chain: the native coin and the ERC-20 token (`balanceOf`), as
 * base-unit strings with the token's symbol and decimals. An unreachable RPC is "offline", not
 * an error that stops the worker.
 */
import { Contract, JsonRpcProvider, Network } from 'ethers';

const ERC20_ABI = [
  'function balanceOf(address) view returns (uint256)',
  'function decimals() view returns (uint8)',
  'function symbol() view returns (string)',
];

export interface Balances {
  address: string;
  native: string;
  token: string | null;
  symbol: string | null;
  decimals: number | null;
}

export class RpcOfflineError extends Error {
  constructor(rpc: string, cause: unknown) {
    super(`cannot reach the chain at ${rpc}: ${cause instanceof Error ? cause.message.split('\n')[0] : String(cause)}`);
    this.name = 'RpcOfflineError';
  }
}

export async function readBalances(rpc: string, address: string, token: string | null, timeoutMs = 5000): Promise<Balances> {
  const provider = new JsonRpcProvider(rpc, undefined, { staticNetwork: Network.from(1), batchMaxCount: 1 });
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref());
  try {
    const work = async (): Promise<Balances> => {
      // staticNetwork skips the chain-id probe; the chain id does not matter for reads.
      const native = await provider.getBalance(address);
      if (!token) return { address, native: native.toString(), token: null, symbol: null, decimals: null };
      const erc20 = new Contract(token, ERC20_ABI, provider);
      const [balance, decimals, symbol] = (await Promise.all([erc20.balanceOf!(address), erc20.decimals!(), erc20.symbol!()])) as [bigint, bigint, string];
      return { address, native: native.toString(), token: balance.toString(), symbol, decimals: Number(decimals) };
    };
    return await Promise.race([work(), timeout]);
  } catch (error) {
    throw new RpcOfflineError(rpc, error);
  } finally {
    provider.destroy();
  }
}
