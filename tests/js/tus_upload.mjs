// Upload one file to the drive's tus server with tus-js-client (Node), resuming an earlier
// run's upload when the URL storage file knows one. Used by tests/test_tus_js_live.py.
//
//   node tus_upload.mjs SERVER TOKEN FILE CHUNK_SIZE URL_STORAGE.json [--delay-ms N] [--name NAME] [--type TYPE]
//
// SERVER is the base URL (http://127.0.0.1:8000); the endpoint is SERVER + "/api/tus/". The file
// is given to tus-js-client as a Node file stream (fs.ReadStream), which it reads chunk by chunk
// (never the whole file) and fingerprints by path, size and mtime. The upload URL is kept by
// fingerprint in URL_STORAGE.json, so a second run for the same file (after this one was killed)
// finds it with findPreviousUploads() and continues it with resumeFromPreviousUpload(): a HEAD,
// then PATCHes from the server's offset. --delay-ms waits before each PATCH (to let a test kill
// the process mid-upload).
//
// One line per event on stdout, for the test to read:
//   previous N            uploads of this file found in the URL storage
//   resume URL            continuing that upload (else a new one is created: "created URL")
//   head OFFSET LENGTH    the server's answer to the resume HEAD
//   patch OFFSET          a PATCH is sent from OFFSET (its Upload-Offset header)
//   progress SENT TOTAL   bytes sent so far (at most every 100 ms, by tus-js-client)
//   chunk OFFSET TOTAL    the server acknowledged the upload up to OFFSET
//   done URL              finished; exit status 0
// An error goes to stderr with exit status 1.

import { createReadStream, promises as fs, readFileSync, writeFileSync, renameSync, openSync, fsyncSync, closeSync } from 'node:fs'
import path from 'node:path'
import process from 'node:process'
import { Upload } from 'tus-js-client'

// The URL storage tus-js-client asks for (findAllUploads, findUploadsByFingerprint, addUpload,
// removeUpload), kept in one JSON file: { "tus::<fingerprint>::<n>": {uploadUrl, size, ...} }.
// tus-js-client 4.x exports a FileUrlStorage too; this one replaces the file atomically (temp
// file, fsync, rename), so a process killed while it writes leaves the old file or the new one,
// never half of one. One client at a time per file.
class JsonFileUrlStorage {
  constructor(file) {
    this.file = path.resolve(file)
  }

  // Synchronous file I/O on purpose: tus-js-client calls removeUpload just before onSuccess
  // without waiting for it, and this script exits on success.
  _read() {
    try {
      const text = readFileSync(this.file, 'utf8')
      return text.trim() ? JSON.parse(text) : {}
    } catch (err) {
      if (err.code === 'ENOENT') return {}
      throw err
    }
  }

  _write(data) {
    const temp = `${this.file}.${process.pid}.tmp`
    writeFileSync(temp, JSON.stringify(data, null, 2), { mode: 0o600 })
    const fd = openSync(temp, 'r')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(temp, this.file)
  }

  async _matching(prefix) {
    const data = this._read()
    return Object.entries(data)
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, value]) => ({ ...value, urlStorageKey: key }))
  }

  findAllUploads() {
    return this._matching('tus::')
  }

  findUploadsByFingerprint(fingerprint) {
    return this._matching(`tus::${fingerprint}::`)
  }

  async removeUpload(urlStorageKey) {
    const data = this._read()
    delete data[urlStorageKey]
    this._write(data)
  }

  async addUpload(fingerprint, upload) {
    const data = this._read()
    let n = 0
    while (`tus::${fingerprint}::${n}` in data) n += 1
    const key = `tus::${fingerprint}::${n}`
    data[key] = upload
    this._write(data)
    return key
  }
}

function parseArgs(argv) {
  const positional = []
  const options = { delayMs: 0, name: null, type: 'application/octet-stream' }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--delay-ms') options.delayMs = Number(argv[++i])
    else if (arg === '--name') options.name = argv[++i]
    else if (arg === '--type') options.type = argv[++i]
    else positional.push(arg)
  }
  if (positional.length !== 5) {
    throw new Error('usage: node tus_upload.mjs SERVER TOKEN FILE CHUNK_SIZE URL_STORAGE.json ' +
                    '[--delay-ms N] [--name NAME] [--type TYPE]')
  }
  const [server, token, file, chunk, storage] = positional
  const chunkSize = Number(chunk)
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) throw new Error(`bad CHUNK_SIZE: ${chunk}`)
  if (!Number.isFinite(options.delayMs) || options.delayMs < 0) throw new Error('bad --delay-ms')
  return { server: server.replace(/\/+$/, ''), token, file, chunkSize, storage, ...options }
}

function say(...words) {
  process.stdout.write(`${words.join(' ')}\n`)
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const endpoint = `${args.server}/api/tus/`
  const { size } = await fs.stat(args.file)
  let lastProgress = -1
  const progressStep = Math.max(64 * 1024, Math.min(args.chunkSize, 1024 * 1024) / 4)

  await new Promise((resolve, reject) => {
    const upload = new Upload(createReadStream(args.file), {
      endpoint,
      chunkSize: args.chunkSize,
      headers: { Authorization: `Bearer ${args.token}` },
      metadata: { filename: args.name || path.basename(args.file), filetype: args.type },
      urlStorage: new JsonFileUrlStorage(args.storage),
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      retryDelays: [0, 500, 1000, 3000],
      async onBeforeRequest(req) {
        if (req.getMethod() === 'PATCH') {
          if (args.delayMs) await sleep(args.delayMs)
          say('patch', req.getHeader('Upload-Offset'))
        }
      },
      onAfterResponse(req, res) {
        if (req.getMethod() === 'HEAD') {
          say('head', res.getHeader('Upload-Offset'), res.getHeader('Upload-Length'))
        } else if (req.getMethod() === 'POST' && res.getStatus() === 201) {
          say('created', res.getHeader('Location'))
        } else if (res.getStatus() >= 400) {
          say('answer', req.getMethod(), res.getStatus())
        }
      },
      onProgress(sent, total) {
        if (sent === total || sent - lastProgress >= progressStep) {
          lastProgress = sent
          say('progress', sent, total)
        }
      },
      onChunkComplete(_chunk, accepted, total) {
        say('chunk', accepted, total)
      },
      onSuccess() {
        say('done', upload.url)
        resolve()
      },
      onError(err) {
        reject(err)
      },
    })

    upload
      .findPreviousUploads()
      .then((previous) => {
        say('previous', previous.length)
        // The newest stored upload of this file, if any (there is one at most, normally).
        const last = previous
          .filter((p) => p.uploadUrl && p.size === size)
          .sort((a, b) => Date.parse(b.creationTime) - Date.parse(a.creationTime))[0]
        if (last) {
          say('resume', last.uploadUrl)
          upload.resumeFromPreviousUpload(last)
        }
        upload.start()
      })
      .catch(reject)
  })
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`error: ${err && err.stack ? err.stack : err}\n`)
    process.exit(1)
  },
)
