/**
 * The console's one way to the server: the real @aws-sdk/client-ec2, signing every request with the
 * signed-in user's keys and sending it to the origin that served the page. Every rule is the
 * server's; what the API refuses is surfaced as an ApiError carrying EC2's code and message verbatim.
 */
import {
  CreateKeyPairCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeRegionsCommand,
  EC2Client,
  GetConsoleOutputCommand,
  type Image,
  type Instance,
  type InstanceStateChange,
  type InstanceTypeInfo,
  type KeyPairInfo,
  ModifyInstanceCpuOptionsCommand,
  type ModifyInstanceCpuOptionsResult,
  RebootInstancesCommand,
  type RunInstancesRequest,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  paginateDescribeInstanceTypes,
  paginateDescribeInstances,
} from '@aws-sdk/client-ec2';

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** An error as the API gave it: EC2's code and message, untouched. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number; requestId?: string } };
  if (e?.$metadata?.httpStatusCode !== undefined) {
    return new ApiError(e.name ?? 'Error', e.message ?? '', e.$metadata.httpStatusCode, e.$metadata.requestId);
  }
  // No HTTP answer at all: the server is down or unreachable.
  return new ApiError('NetworkError', `The nestbox server did not answer (${e?.message ?? String(err)}).`);
}

/** Used when DescribeRegions is not available on this server. */
export const FALLBACK_REGIONS: readonly string[] = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'eu-west-1', 'eu-west-2', 'eu-central-1',
  'eu-north-1', 'ap-northeast-1', 'ap-southeast-1', 'ap-southeast-2', 'ap-south-1', 'sa-east-1',
];

export type KeyType = 'rsa' | 'ed25519';
export type KeyFormat = 'pem' | 'ppk';

export interface CreatedKeyPair {
  readonly name: string;
  readonly material: string;
  readonly format: KeyFormat;
}

export interface CpuOptionsChange {
  readonly coreCount?: number;
  readonly threadsPerCore?: number;
  readonly nestedVirtualization?: 'enabled' | 'disabled';
}

export type Api = ReturnType<typeof createApi>;

export function createApi(credentials: Credentials, region: string, endpoint: string = location.origin) {
  const client = new EC2Client({ endpoint, region, credentials, maxAttempts: 1 });
  const send = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      throw toApiError(err);
    }
  };
  // The catalog and the images do not change while the server runs: fetched once per client.
  let instanceTypes: Promise<readonly InstanceTypeInfo[]> | undefined;
  let images: Promise<readonly Image[]> | undefined;

  return {
    region,

    /** Checks the keys with a cheap signed call; rejects with AuthFailure / SignatureDoesNotMatch. */
    verify: () => send(() => client.send(new DescribeInstancesCommand({ MaxResults: 5 }))).then(() => undefined),

    async regions(): Promise<readonly string[]> {
      try {
        const out = await send(() => client.send(new DescribeRegionsCommand({})));
        const names = (out.Regions ?? []).map((r) => r.RegionName ?? '').filter((n) => n !== '');
        return names.length > 0 ? names.sort() : FALLBACK_REGIONS;
      } catch (err) {
        if (err instanceof ApiError && err.code === 'NotImplemented') return FALLBACK_REGIONS;
        throw err;
      }
    },

    listInstances: () =>
      send(async () => {
        const all: Instance[] = [];
        for await (const page of paginateDescribeInstances({ client, pageSize: 1000 }, {})) {
          for (const r of page.Reservations ?? []) all.push(...(r.Instances ?? []));
        }
        return all;
      }),

    instance: (id: string) =>
      send(async () => {
        const out = await client.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
        return out.Reservations?.[0]?.Instances?.[0];
      }),

    launch: (request: Omit<RunInstancesRequest, 'MinCount' | 'MaxCount'>, count: number) =>
      send(async () => {
        const out = await client.send(new RunInstancesCommand({ ...request, MinCount: count, MaxCount: count }));
        return out.Instances ?? [];
      }),

    start: (ids: readonly string[]): Promise<InstanceStateChange[]> =>
      send(async () => (await client.send(new StartInstancesCommand({ InstanceIds: [...ids] }))).StartingInstances ?? []),
    stop: (ids: readonly string[]): Promise<InstanceStateChange[]> =>
      send(async () => (await client.send(new StopInstancesCommand({ InstanceIds: [...ids] }))).StoppingInstances ?? []),
    reboot: (ids: readonly string[]): Promise<void> =>
      send(async () => void (await client.send(new RebootInstancesCommand({ InstanceIds: [...ids] })))),
    terminate: (ids: readonly string[]): Promise<InstanceStateChange[]> =>
      send(
        async () => (await client.send(new TerminateInstancesCommand({ InstanceIds: [...ids] }))).TerminatingInstances ?? [],
      ),

    modifyCpuOptions: (id: string, change: CpuOptionsChange): Promise<ModifyInstanceCpuOptionsResult> =>
      send(() =>
        client.send(
          new ModifyInstanceCpuOptionsCommand({
            InstanceId: id,
            CoreCount: change.coreCount,
            ThreadsPerCore: change.threadsPerCore,
            NestedVirtualization: change.nestedVirtualization,
          }),
        ),
      ),

    /** The serial console, decoded (EC2 sends it base64-encoded). */
    consoleOutput: (id: string) =>
      send(async () => {
        const out = await client.send(new GetConsoleOutputCommand({ InstanceId: id, Latest: true }));
        return out.Output ? decodeBase64(out.Output) : '';
      }),

    instanceTypes: () =>
      (instanceTypes ??= send(async () => {
        const all: InstanceTypeInfo[] = [];
        for await (const page of paginateDescribeInstanceTypes({ client, pageSize: 100 }, {})) {
          all.push(...(page.InstanceTypes ?? []));
        }
        return all;
      }).catch((err: unknown) => {
        instanceTypes = undefined;
        throw err;
      })),

    images: () =>
      (images ??= send(async () => (await client.send(new DescribeImagesCommand({}))).Images ?? []).catch(
        (err: unknown) => {
          images = undefined;
          throw err;
        },
      )),

    keyPairs: (): Promise<KeyPairInfo[]> =>
      send(async () => (await client.send(new DescribeKeyPairsCommand({}))).KeyPairs ?? []),

    createKeyPair: (name: string, type: KeyType, format: KeyFormat): Promise<CreatedKeyPair> =>
      send(async () => {
        const out = await client.send(new CreateKeyPairCommand({ KeyName: name, KeyType: type, KeyFormat: format }));
        return { name: out.KeyName ?? name, material: out.KeyMaterial ?? '', format };
      }),

    destroy: () => client.destroy(),
  };
}

function decodeBase64(text: string): string {
  const binary = atob(text);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}
