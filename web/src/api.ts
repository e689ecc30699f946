// The web server's JSON API (same origin, session cookie) and the relayer behind its proxy.
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { credentials: 'same-origin', ...init });
  } catch {
    throw new HttpError(0, 'NETWORK', 'the web server does not answer');
  }
  const text = await res.text();
  const body = (text ? JSON.parse(text) : {}) as { code?: string; message?: string };
  if (res.status === 401 && body.code === 'NOT_SIGNED_IN') window.dispatchEvent(new Event('session-expired'));
  if (!res.ok) throw new HttpError(res.status, body.code ?? `HTTP_${res.status}`, body.message ?? res.statusText);
  return body as T;
}

export function post<T>(path: string, body: unknown): Promise<T> {
  return call<T>(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

export interface HourlyEnergy {
  start: number;
  consumptionWh: number;
  productionWh: number;
}

export interface Hours {
  from: number;
  hours: HourlyEnergy[];
}

export interface Battery {
  capacityWh: number;
  powerW: number;
  chargeWh: number | null;
  at: number | null;
}

export interface Me {
  address: `0x${string}`;
  prosumerId: string;
  expiresAt: string;
}

export const data = {
  history: (hours = 24) => call<Hours>(`/api/v1/me/history?hours=${hours}`),
  forecast: (hours = 12) => call<Hours>(`/api/v1/me/forecast?hours=${hours}`),
  battery: () => call<Battery>('/api/v1/me/battery'),
  me: () => call<Me>('/api/v1/me'),
};
