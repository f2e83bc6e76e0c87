/**
 * What a task's script needs on a Ray cluster, as packages on its head: the script's folder
 * (a job's `working_dir`, an actor's run item `package`) and the Lakeray Python runtime
 * (runtimes/python/lakeray, the `py_modules` of every job and of the actors-mode driver).
 * Both modes of the Ray executor use this, so a folder is packed and uploaded the same way.
 */
import path from 'node:path';
import { PackageUploader, packWorkingDir, type WorkingDirPackage } from './package.ts';
import type { RayJobsClient } from './jobs-client.ts';

export class ScriptPackages {
  private readonly uploader: PackageUploader;
  private runtimePkg: Promise<WorkingDirPackage> | undefined;

  constructor(
    client: Pick<RayJobsClient, 'packageExists' | 'uploadPackage'>,
    private readonly runtimesDir: string,
  ) {
    this.uploader = new PackageUploader(client);
  }

  /** The gcs:// URI of the Lakeray runtime, on the head. */
  async runtime(): Promise<string> {
    this.runtimePkg ??= packWorkingDir(path.join(this.runtimesDir, 'python', 'lakeray'), { prefix: 'lakeray' });
    return (await this.uploader.ensure(await this.runtimePkg)).uri;
  }

  /** The head may have restarted without them: ask (and upload) again on next use. */
  forget(): void {
    this.uploader.forget();
  }

  /** The gcs:// URI of the folder of `script` (an absolute path), on the head. */
  async scriptFolder(script: string): Promise<string> {
    return (await this.uploader.ensure(await packWorkingDir(path.dirname(script)))).uri;
  }
}
