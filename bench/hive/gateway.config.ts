// Hive Gateway's settings for the benchmarks (the supergraph is given on the command line).
// `videoJob(jobId)` is the by-id field the generated schema lacks: Mesh's batching (batch delegation, one
// DataLoader per request) resolves it onto the list route's job_ids filter, the upstream call the
// gateway's own loader makes; the by-id fields of one request that select the same fields share one call.
import { defineConfig } from '@graphql-hive/gateway';
import { Kind, type SelectionSetNode } from 'graphql';

// The list covers only the last month unless asked for older jobs (as the gateway asks).
const EVER = '2000-01-01T00:00:00Z';

interface Job {
  job_id?: string;
}

// The client's selection, wrapped in the list answer's `jobs`, with the key the answers are matched by.
function jobsOf(subtree: SelectionSetNode): SelectionSetNode {
  const jobId = { kind: Kind.FIELD, name: { kind: Kind.NAME, value: 'job_id' } } as const;
  return {
    kind: Kind.SELECTION_SET,
    selections: [
      {
        kind: Kind.FIELD,
        name: { kind: Kind.NAME, value: 'jobs' },
        selectionSet: { ...subtree, selections: [...subtree.selections, jobId] },
      },
    ],
  };
}

export const gatewayConfig = defineConfig({
  additionalTypeDefs: /* GraphQL */ `
    extend type Query {
      "One video job by its id, from the list route (job_ids), batched with the by-id fields beside it."
      videoJob(jobId: String!): DigitalHumanVideo
    }
  `,
  additionalResolvers: {
    Query: {
      videoJob(root: unknown, args: { jobId: string }, context: any, info: unknown) {
        return context.MetaStudio.Query.ListDigitalHumanVideo({
          root,
          context,
          info,
          key: args.jobId,
          argsFromKeys: (ids: readonly string[]) => ({
            create_since: EVER,
            job_ids: ids,
            limit: ids.length,
            offset: 0,
          }),
          selectionSet: jobsOf,
          valuesFromResults: (page: { jobs?: Job[] } | null, ids: readonly string[]) => {
            const byId = new Map((page?.jobs ?? []).map((job) => [job.job_id, job]));
            return ids.map((id) => byId.get(id) ?? null);
          },
        });
      },
    },
  },
});
