// Sync as phones do it: offline first, then through a real `kefu serve`, from
// coroutines; convergence, concurrent edits surfacing as conflicts, a sync killed
// midway losing nothing, and a Kotlin ChangeListener hearing what arrived.
package kefu.tests

import java.net.ServerSocket
import java.util.Collections
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlinx.coroutines.yield
import uniffi.kefu_mobile.*

/** A localhost port nothing listens on (bound, then released). */
fun closedPort(): Int = ServerSocket(0).use { it.localPort }

/** Records what a listener hears; optionally reads the store from inside the callback. */
class Recorder(private val store: KefuStore? = null) : ChangeListener {
    val batches: MutableList<List<String>> = Collections.synchronizedList(mutableListOf())
    val subjectsSeen: MutableList<String> = Collections.synchronizedList(mutableListOf())

    override fun onChanges(docIds: List<String>) {
        batches.add(docIds)
        // Reading the store from the callback proves no store lock is held while it runs.
        store?.let { s -> docIds.filter { !it.startsWith("duty:") }.forEach { subjectsSeen.add(s.getCase(it).subject) } }
    }
}

fun syncTests(suite: Suite) {
    suite.test("offline: sync fails fast with a typed error and loses nothing") {
        val store = KefuStore.open(newDir(), "field.zhou")
        val case = store.createCase(newRepair())
        store.addNote(case.id, "written in the basement, no signal")
        val url = "http://127.0.0.1:${closedPort()}"
        val started = System.nanoTime()
        val offline = assertThrows<KefuException.Offline> { runBlocking { store.sync(url, "any-token") } }
        val ms = (System.nanoTime() - started) / 1_000_000
        check(ms < 5_000) { "offline sync took $ms ms; it must fail fast" }
        val message = offline.message ?: ""
        check(message.startsWith("cannot reach the server at $url/v1/sync: ")) { "message: $message" }
        check(message.endsWith("; your changes are kept on this phone")) { "message: $message" }
        val blocking = assertThrows<KefuException.Offline> { store.syncBlocking(url, "any-token") }
        assertEq(message, blocking.message, "blocking variant's message")
        assertEq(1u, store.pendingDocs(), "the case is still waiting to be sent")
        val notes = store.getCase(case.id).timeline.mapNotNull { (it.body as? EntryBody.Note)?.text }
        assertEq(listOf("written in the basement, no signal"), notes, "the note is intact")
        store.close()
    }

    suite.test("bad and revoked device tokens are refused with the server's reason", deadlineSeconds = 90) {
        withServer(dir) { server ->
            val store = KefuStore.open(newDir(), "field.zhou")
            store.createCase(newRepair())
            val refused = assertThrows<KefuException.SyncRefused> { runBlocking { store.sync(server.url, "kefu_not-a-token") } }
            check(refused.message!!.contains("auth.invalid_token")) { "message: ${refused.message}" }
            check(refused.message!!.endsWith("your changes are kept on this phone")) { "message: ${refused.message}" }
            assertEq(1u, store.pendingDocs(), "nothing lost")
            // A token that worked, then revoked by an administrator (phone lost).
            val token = server.issueToken("phone r")
            runBlocking { store.sync(server.url, token) }
            val row = server.admin("device", "list", "--team", "north-desk").lines().single { "phone r" in it }
            val deviceId = Regex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").find(row)?.value
                ?: fail("no device id in: $row")
            server.admin("device", "revoke", deviceId)
            store.addNote(store.list(CaseFilter()).single().id, "after revocation")
            val revoked = assertThrows<KefuException.SyncRefused> { runBlocking { store.sync(server.url, token) } }
            check(revoked.message!!.contains("auth.revoked")) { "message: ${revoked.message}" }
            assertEq(1u, store.pendingDocs(), "the note waits on the phone")
            store.close()
        }
    }

    suite.test("two phones edit offline, sync from coroutines and converge", deadlineSeconds = 120) {
        withServer(dir) { server ->
            val tokenA = server.issueToken("phone a")
            val tokenB = server.issueToken("phone b")
            val a = KefuStore.open(newDir("a"), "desk.li").also { it.bindDevice(tokenA) }
            val b = KefuStore.open(newDir("b"), "field.zhou").also { it.bindDevice(tokenB) }
            // Offline on both.
            val shared = a.createCase(newRepair(subject = "shared case"))
            val onlyA = a.createCase(newRepair(subject = "from a"))
            val onlyB = b.createCase(newRepair(subject = "from b"))
            a.openDutyLog("2026-11-29", DutyShift.NIGHT).let { a.editDutyLog(it.id, DutyEdit.AddEntry(DutyEntryKind.CALL, "a's call", null)) }
            b.openDutyLog("2026-11-29", DutyShift.NIGHT).let { b.editDutyLog(it.id, DutyEdit.AddEntry(DutyEntryKind.VISIT, "b's visit", null)) }
            runBlocking {
                listOf(async { a.sync(server.url, tokenA) }, async { b.sync(server.url, tokenB) }).awaitAll()
                // Now both phones edit the shared case offline, concurrently.
                b.sync(server.url, tokenB)
                a.spliceDescription(shared.id, 0u, 0u, "A: ")
                b.spliceDescription(shared.id, 21u, 0u, " (B)")
                a.editCase(shared.id, CaseEdit.SetSubject("subject from a"))
                b.editCase(shared.id, CaseEdit.SetSubject("subject from b"))
                a.addNote(shared.id, "a's note")
                b.addNote(shared.id, "b's note")
                listOf(async(Dispatchers.IO) { a.sync(server.url, tokenA) }, async(Dispatchers.IO) { b.sync(server.url, tokenB) }).awaitAll()
                a.sync(server.url, tokenA)
                b.sync(server.url, tokenB)
            }
            assertEq(0u, a.pendingDocs(), "a has nothing left to send")
            assertEq(0u, b.pendingDocs(), "b has nothing left to send")
            val idsA = a.list(CaseFilter()).map { it.id }.toSet()
            assertEq(setOf(shared.id, onlyA.id, onlyB.id), idsA, "a's cases")
            assertEq(idsA, b.list(CaseFilter()).map { it.id }.toSet(), "b's cases")
            for (id in idsA) assertEq(a.getCase(id), b.getCase(id), "case $id on both phones")
            val merged = a.getCase(shared.id)
            assertEq("A: Water in the basement (B)", merged.description, "both splices kept")
            val notes = merged.timeline.mapNotNull { (it.body as? EntryBody.Note)?.text }.toSet()
            assertEq(setOf("a's note", "b's note"), notes, "both notes kept")
            val conflict = a.conflicts(shared.id).single { it.field == "subject" }
            assertEq(setOf("subject from a", "subject from b"), conflict.values.toSet(), "subject conflict surfaced")
            assertEq(a.conflicts(shared.id), b.conflicts(shared.id), "same conflicts on both")
            check(merged.number.assigned != null) { "the server assigned a number: ${merged.number}" }
            val log = a.dutyLog("duty:2026-11-29:night")
            assertEq(setOf("a's call", "b's visit"), log.entries.map { it.text }.toSet(), "duty log merged")
            assertEq(log, b.dutyLog(log.id), "duty log on both phones")
            a.close(); b.close()
        }
    }

    suite.test("a Kotlin listener hears arriving changes, and may read the store", deadlineSeconds = 120) {
        withServer(dir) { server ->
            val tokenA = server.issueToken("phone a")
            val tokenB = server.issueToken("phone b")
            val a = KefuStore.open(newDir("a"), "desk.li").also { it.bindDevice(tokenA) }
            val b = KefuStore.open(newDir("b"), "field.zhou").also { it.bindDevice(tokenB) }
            val heardByA = Recorder(a)
            val heardByB = Recorder(b)
            a.setChangeListener(heardByA)
            b.setChangeListener(heardByB)
            val case = a.createCase(newRepair(subject = "heard on b"))
            runBlocking { a.sync(server.url, tokenA) }
            val report = runBlocking { b.sync(server.url, tokenB) }
            assertEq(listOf(case.id), report.receivedIds, "b's report")
            assertEq(listOf(listOf(case.id)), heardByB.batches.toList(), "b's listener")
            assertEq(listOf("heard on b"), heardByB.subjectsSeen.toList(), "b read the case inside the callback")
            // A listener that throws does not turn a good sync into a failure.
            b.setChangeListener(object : ChangeListener {
                override fun onChanges(docIds: List<String>) = throw IllegalStateException("screen gone")
            })
            a.addNote(case.id, "second note")
            runBlocking { a.sync(server.url, tokenA) }
            val second = runBlocking { b.sync(server.url, tokenB) }
            assertEq(listOf(case.id), second.receivedIds, "b received the second note")
            // The blocking sync refuses to run inside an async sync's callback (it would
            // deadlock the runtime) and says what to call instead.
            val nested = Collections.synchronizedList(mutableListOf<Throwable>())
            b.setChangeListener(object : ChangeListener {
                override fun onChanges(docIds: List<String>) {
                    try { b.syncBlocking(server.url, tokenB) } catch (e: Throwable) { nested.add(e) }
                }
            })
            a.addNote(case.id, "nested note")
            runBlocking { a.sync(server.url, tokenA); b.sync(server.url, tokenB) }
            val refusedNested = nested.single() as? KefuException.InvalidInput ?: fail("nested: ${nested.single()}")
            assertEq(
                "a blocking sync was started from inside an async sync (e.g. from a change listener); use the async sync there",
                refusedNested.message, "nested blocking sync",
            )
            // Removed: nothing more is heard.
            b.setChangeListener(null)
            a.addNote(case.id, "third note")
            runBlocking { a.sync(server.url, tokenA); b.sync(server.url, tokenB) }
            assertEq(1, heardByB.batches.size, "b's first listener heard exactly one batch")
            assertEq(3, b.getCase(case.id).timeline.count { it.body is EntryBody.Note }, "every note arrived")
            a.close(); b.close()
        }
    }

    suite.test("a sync killed midway loses nothing and resumes", deadlineSeconds = 240) {
        withServer(dir) { server ->
            val tokenA = server.issueToken("phone a")
            val tokenB = server.issueToken("phone b")
            val a = KefuStore.open(newDir("a"), "desk.li").also { it.bindDevice(tokenA) }
            val n = 450 // more than two rounds' worth (200 documents per push)
            val created = (1..n).map { a.createCase(newRepair(subject = "case $it")).id }.toSet()
            assertEq(n.toUInt(), a.pendingDocs(), "all pending before sync")

            // 1. The app cancels the sync coroutine (screen closed) as soon as it starts.
            runBlocking {
                val job = launch(Dispatchers.IO) { a.sync(server.url, tokenA) }
                yield()
                job.cancel()
                job.join()
            }
            // 2. The server is SIGKILLed while a sync is in flight: it fails or finishes,
            //    whichever happens first; either way nothing may be lost.
            val outcome = runBlocking {
                val sync = async(Dispatchers.IO) { runCatching { a.sync(server.url, tokenA) } }
                // Kill once the first round is durable on the phone (pending went down),
                // or when the sync has already ended.
                withContext(Dispatchers.IO) {
                    val deadline = System.nanoTime() + 60_000_000_000L
                    while (!sync.isCompleted && a.pendingDocs() == n.toUInt() && System.nanoTime() < deadline) {
                        Thread.sleep(1) // a polling interval for an event, not a wait standing in for one
                    }
                }
                server.kill()
                sync.await()
            }
            outcome.exceptionOrNull()?.let { check(it is KefuException.Offline) { "killed server gave $it" } }
            val pendingAfterKill = a.pendingDocs()
            assertEq(n.toUInt(), a.nCases(), "every case still on the phone")
            // 3. The server comes back (new port, same database); the next sync resumes.
            server.start()
            runBlocking { a.sync(server.url, tokenA) }
            assertEq(0u, a.pendingDocs(), "everything acknowledged after resuming (was $pendingAfterKill)")
            val b = KefuStore.open(newDir("b"), "field.zhou")
            val report = runBlocking { b.sync(server.url, tokenB) }
            assertEq(created, b.list(CaseFilter()).map { it.id }.toSet(), "another phone gets every case")
            check(report.rounds >= 3u) { "a fresh phone fetched in several rounds: $report" }
            println("   (kill landed with $pendingAfterKill of $n pending; ${if (outcome.isSuccess) "sync had finished" else "sync failed offline"})")
            a.close(); b.close()
        }
    }

    suite.test("threads keep editing while syncs run", deadlineSeconds = 120) {
        withServer(dir) { server ->
            val token = server.issueToken("phone a")
            val a = KefuStore.open(newDir("a"), "desk.li").also { it.bindDevice(token) }
            val ids = (1..20).map { a.createCase(newRepair(subject = "case $it")).id }
            runBlocking {
                val editors = ids.mapIndexed { i, id -> async(Dispatchers.IO) { a.addNote(id, "note $i"); id } }
                val syncs = (1..3).map { async(Dispatchers.IO) { a.sync(server.url, token) } }
                (editors + syncs).awaitAll()
                a.sync(server.url, token) // anything edited during the last one
            }
            assertEq(0u, a.pendingDocs(), "everything sent")
            val b = KefuStore.open(newDir("b"), "field.zhou")
            runBlocking { b.sync(server.url, server.issueToken("phone b")) }
            for (id in ids) assertEq(a.getCase(id), b.getCase(id), "case $id")
            a.close(); b.close()
        }
    }
    suite.test("live session: changes from another phone arrive without a sync call", deadlineSeconds = 120) {
        withServer(dir) { server ->
            val tokenA = server.issueToken("phone a")
            val tokenB = server.issueToken("phone b")
            val a = KefuStore.open(newDir("a"), "desk.li").also { it.bindDevice(tokenA) }
            val b = KefuStore.open(newDir("b"), "field.zhou").also { it.bindDevice(tokenB) }
            val heard = java.util.concurrent.LinkedBlockingQueue<List<String>>()
            b.setChangeListener(object : ChangeListener {
                override fun onChanges(docIds: List<String>) { heard.add(docIds) }
            })
            val live = b.startLive(server.url, tokenB)
            check(live.isRunning()) { "b's live session is running" }
            // A syncs over HTTP; the server pushes the change to b's open WebSocket.
            val case = a.createCase(newRepair(subject = "pushed to b"))
            runBlocking { a.sync(server.url, tokenA) }
            fun awaitHeard(id: String, what: String) {
                val deadline = System.nanoTime() + 30_000_000_000L
                while (true) {
                    val left = deadline - System.nanoTime()
                    val batch = heard.poll(maxOf(left, 0L), java.util.concurrent.TimeUnit.NANOSECONDS)
                        ?: fail("b did not hear $what within 30 s")
                    if (id in batch) return
                }
            }
            awaitHeard(case.id, "the new case")
            assertEq("pushed to b", b.getCase(case.id).subject, "b holds the case")
            // B's own edit goes out through the live session, with no sync call.
            b.addNote(case.id, "on my way")
            val aHeard = java.util.concurrent.LinkedBlockingQueue<List<String>>()
            a.setChangeListener(object : ChangeListener {
                override fun onChanges(docIds: List<String>) { aHeard.add(docIds) }
            })
            val aLive = a.startLive(server.url, tokenA)
            val deadline = System.nanoTime() + 30_000_000_000L
            while (a.getCase(case.id).timeline.none { (it.body as? EntryBody.Note)?.text == "on my way" }) {
                aHeard.poll(maxOf(deadline - System.nanoTime(), 0L), java.util.concurrent.TimeUnit.NANOSECONDS)
                    ?: fail("a did not receive b's note within 30 s")
            }
            aLive.stop()
            live.stop()
            check(!live.isRunning()) { "stopped" }
            live.stop() // a second stop is harmless
            a.close(); b.close()
        }
    }

    suite.test("live session with no server keeps retrying, and stopping it says why it is offline") {
        val store = KefuStore.open(newDir(), "field.zhou")
        val live = store.startLive("http://127.0.0.1:${closedPort()}", "any-token")
        // A closed port refuses at once; the session backs off and tries again rather than end.
        Thread.sleep(2_000) // time for the first attempt to be refused, not a wait standing in for a signal
        check(live.isRunning()) { "the session keeps trying while the server is unreachable" }
        val offline = assertThrows<KefuException.Offline> { live.stop() }
        check(offline.message!!.contains("cannot reach the server at ws://127.0.0.1:")) { "message: ${offline.message}" }
        store.close()
    }
}
