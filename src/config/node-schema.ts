/**
 * `node:` in lakeray.yaml: who this process is among several (docs/configuration.md, "Node").
 * The name scopes its local executor (`local@<name>`, owned only by a scheduler on this node);
 * advertise_host is how other nodes reach what runs here (a service task's port: the API
 * node's proxy connects to <advertise_host>:<port>); shared_dir is storage all nodes mount.
 */
import { hostname } from 'node:os';
import { z } from 'zod';

export const nodeSchema = z
  .object({
    /** Default: the machine's host name (a Kubernetes pod's name). */
    name: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-"')
      .default(() => hostname()),
    /** A host name or address other nodes reach this one at; 127.0.0.1 when all processes share a machine. */
    advertise_host: z.string().min(1).max(253).default('127.0.0.1'),
    /**
     * A directory every node mounts at the same path (NFS, a ReadWriteMany volume): uploads are
     * kept in <shared_dir>/uploads, so a file accepted by one API node is found by every node and
     * read by a task on any of them. Null: <state_dir>/uploads (one node).
     */
    shared_dir: z.string().min(1).nullable().default(null),
  })
  .strict();

export type NodeConfig = z.infer<typeof nodeSchema>;
