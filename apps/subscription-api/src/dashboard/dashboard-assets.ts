import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The content type of each kind of file the dashboard serves; any other name is not served. */
const CONTENT_TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  html: 'text/html; charset=utf-8',
};

/** A flat file name: lower-case letters, digits and dashes, one known extension. No slash, no dot-dot. */
const ASSET_NAME = /^[a-z][a-z0-9-]*\.(js|css|html)$/;

export interface Asset {
  body: Buffer;
  contentType: string;
}

/**
 * The dashboard's built files (tsconfig.web.json emits the modules, `npm run build` copies
 * index.html and dashboard.css): read once from one directory into memory, then served by name
 * only. A request can name nothing but a file of that list, so no path reaches the file system.
 */
export class DashboardAssets {
  private files: Map<string, Asset> | null = null;

  /** `dirs`: where to look, first match (a directory holding app.js) wins. */
  constructor(private readonly dirs: readonly string[] = DashboardAssets.defaultDirs()) {}

  /**
   * Beside this module in dist/ (production), or the build's output when this module runs from
   * source (the tests run the API from source after `npm run build`).
   */
  static defaultDirs(): string[] {
    return [fileURLToPath(new URL('./web/', import.meta.url)), resolve(process.cwd(), 'dist/apps/subscription-api/src/dashboard/web')];
  }

  static isAssetName(name: string): boolean {
    return ASSET_NAME.test(name);
  }

  /** The file `name`, or null (an unknown name, a name with a path, or the dashboard was not built). */
  get(name: string): Asset | null {
    if (!DashboardAssets.isAssetName(name)) return null;
    return this.load().get(name) ?? null;
  }

  private load(): Map<string, Asset> {
    if (this.files) return this.files;
    const files = new Map<string, Asset>();
    const dir = this.dirs.find((d) => existsSync(join(d, 'app.js')));
    if (dir) {
      for (const name of readdirSync(dir)) {
        if (!ASSET_NAME.test(name)) continue;
        files.set(name, { body: readFileSync(join(dir, name)), contentType: CONTENT_TYPES[name.slice(name.lastIndexOf('.') + 1)]! });
      }
    }
    this.files = files;
    return files;
  }
}
