// Sites and settings (SiteDirectory, Settings): keyed rows, one statement or two each, outside the write ordering.
import type Database from 'better-sqlite3'
import type { Site } from '../../core/types.ts'
import type { Settings, SiteDirectory } from '../store.ts'
import { unavailableAs } from './connection.ts'

/** The SQLite store's sites and settings, on the store's connection. */
export class SqliteDirectory implements SiteDirectory, Settings {
  private readonly s

  constructor(db: Database.Database) {
    this.s = {
      insertSite: db.prepare(
        `INSERT INTO sites (id, name, domain, timezone, api_key, created_at)
         VALUES (@id, @name, @domain, @timezone, @api_key, @created_at)`,
      ),
      siteById: db.prepare('SELECT * FROM sites WHERE id = ?'),
      siteByKey: db.prepare('SELECT * FROM sites WHERE api_key = ?'),
      allSites: db.prepare('SELECT * FROM sites ORDER BY created_at, id'),
      setApiKey: db.prepare('UPDATE sites SET api_key = ? WHERE id = ?'),
      getSetting: db.prepare('SELECT value FROM settings WHERE name = ?').pluck(),
      initSetting: db.prepare('INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)'),
      putSetting: db.prepare(
        'INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
      ),
    }
  }

  async createSite(site: Site): Promise<void> {
    unavailableAs(() => this.s.insertSite.run(site))
  }

  async getSite(id: string): Promise<Site | undefined> {
    return this.s.siteById.get(id) as Site | undefined
  }

  async getSiteByApiKey(apiKey: string): Promise<Site | undefined> {
    return this.s.siteByKey.get(apiKey) as Site | undefined
  }

  async listSites(): Promise<Site[]> {
    return this.sites()
  }

  /** Every site, as `listSites` orders them; synchronous, for the sweep. */
  sites(): Site[] {
    return this.s.allSites.all() as Site[]
  }

  async setSiteApiKey(id: string, apiKey: string): Promise<void> {
    unavailableAs(() => this.s.setApiKey.run(apiKey, id))
  }

  async getSetting(name: string): Promise<string | undefined> {
    return this.s.getSetting.get(name) as string | undefined
  }

  async initSetting(name: string, value: string): Promise<string> {
    return unavailableAs(() => {
      this.s.initSetting.run(name, value)
      return this.s.getSetting.get(name) as string
    })
  }

  async putSetting(name: string, value: string): Promise<void> {
    unavailableAs(() => this.s.putSetting.run(name, value))
  }
}
