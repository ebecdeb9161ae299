// The published roster on the phone (issue 19), against a real `kefu serve`: a supervisor
// builds and publishes a roster in the console over HTTP (signed in, with its CSRF token, as a
// browser does); the phone syncs it, goes offline and reads its shifts and who is on the desk;
// a republished roster reaches a live phone's change listener, and the phone says what changed.
package kefu.tests

import java.net.URI
import java.net.URLEncoder
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.time.Duration
import java.time.OffsetDateTime
import kotlinx.coroutines.runBlocking
import uniffi.kefu_mobile.*

/** A week at one desk: three receptionists, zhou on leave on Wednesday (tests/fixtures, shared with Python). */
val SMALL_TEAM: String by lazy {
    val dir = System.getenv("KEFU_TEST_FIXTURES") ?: fail("KEFU_TEST_FIXTURES is not set (run.sh sets it)")
    java.io.File(dir, "small-team.toml").readText()
}

/** The document of SMALL_TEAM's period. */
const val ROSTER_ID = "roster:2026-03-02"

/** Milliseconds since the epoch of an ISO time with its offset. */
fun instant(text: String): Long = OffsetDateTime.parse(text).toInstant().toEpochMilli()

/** The supervisor console of [server] over HTTP, signed in as a new supervisor of its team. */
class Console(private val server: KefuServer) {
    private val http = HttpClient.newBuilder()
        .followRedirects(HttpClient.Redirect.NEVER)
        .connectTimeout(Duration.ofSeconds(10))
        .build()
    private val cookie: String

    init {
        server.admin("user", "add", "wang.li", "--team", "north-desk", "--role", "supervisor", stdin = "$PASSWORD\n")
        val signedIn = post("/console/sign-in", mapOf("name" to "wang.li", "password" to PASSWORD), cookie = null)
        check(signedIn.statusCode() == 303) { "sign-in: ${signedIn.statusCode()} ${signedIn.body()}" }
        cookie = signedIn.headers().firstValue("set-cookie").orElseThrow().substringBefore(';')
    }

    fun get(path: String): HttpResponse<String> = http.send(
        HttpRequest.newBuilder(URI(server.url + path)).header("Cookie", cookie).timeout(Duration.ofSeconds(30)).build(),
        HttpResponse.BodyHandlers.ofString(),
    )

    private fun post(path: String, form: Map<String, String>, cookie: String?): HttpResponse<String> {
        val body = form.entries.joinToString("&") { (key, value) ->
            "${URLEncoder.encode(key, Charsets.UTF_8)}=${URLEncoder.encode(value, Charsets.UTF_8)}"
        }
        val request = HttpRequest.newBuilder(URI(server.url + path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .timeout(Duration.ofSeconds(30))
            .apply { if (cookie != null) header("Cookie", cookie) }
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build()
        return http.send(request, HttpResponse.BodyHandlers.ofString())
    }

    /** Posts [form] to [path] with the CSRF token of the page at [page]; expects the redirect of success. */
    private fun act(page: String, path: String, form: Map<String, String>): HttpResponse<String> {
        val csrf = get(page).body().substringAfter("name=\"csrf\" value=\"").substringBefore('"')
        val answer = post(path, mapOf("csrf" to csrf) + form, cookie)
        check(answer.statusCode() == 303) { "$path: ${answer.statusCode()} ${answer.body().take(2000)}" }
        return answer
    }

    fun importTeam(toml: String) { act("/console/roster/team", "/console/roster/team/import", mapOf("toml" to toml)) }

    /** Starts a solve and waits for its draft; returns the draft's version. */
    fun generate(): String {
        act("/console/roster", "/console/roster/generate", mapOf("time_limit" to "20"))
        var version = ""
        awaitState("a generated roster", seconds = 120) {
            val page = get("/console/roster").body()
            check(!page.contains("data-phase=\"failed\"")) { "the solve failed: $page" }
            version = page.substringAfter("id=\"roster-meta\" data-version=\"", "").substringBefore('"')
            version.isNotEmpty()
        }
        return version
    }

    fun publish(version: String) { act("/console/roster", "/console/roster/publish", mapOf("version" to version)) }

    /** Gives [from]'s shift on [date] to [to]; returns the version that holds the move. */
    fun move(version: String, from: String, date: String, to: String): String {
        val moved = act("/console/roster", "/console/roster/move", mapOf("version" to version, "from" to from, "date" to date, "to" to to))
        return moved.headers().firstValue("location").orElseThrow().substringAfter("version=")
    }

    companion object {
        const val PASSWORD = "correct horse battery staple"
    }
}

fun rosterTests(suite: Suite) {
    suite.test("roster: a phone syncs the published roster, then offline sees its shifts and who is on the desk", deadlineSeconds = 240) {
        withServer(dir) { server ->
            val console = Console(server)
            console.importTeam(SMALL_TEAM)
            val draft = console.generate()
            val token = server.issueToken("lin's phone")
            val store = KefuStore.open(newDir(), "lin")
            store.bindDevice(token)
            runBlocking { store.sync(server.url, token) }
            assertEq(emptyList<RosterShift>(), store.onDutyAt(instant("2026-03-04T10:00+08:00")), "a draft never reaches a phone")

            console.publish(draft)
            runBlocking { store.sync(server.url, token) }
            server.kill()
            assertThrows<KefuException.Offline> { store.syncBlocking(server.url, token) }

            // Offline from here: who is on the desk on Wednesday morning, and that person's week.
            val wednesday = store.onDutyAt(instant("2026-03-04T10:00+08:00"))
            assertEq(1, wednesday.size, "one at the desk: $wednesday")
            val onDesk = wednesday[0]
            assertEq("desk" to "前台", onDesk.post to onDesk.postName, "post and its name")
            assertEq(mapOf("lin" to "林", "wu" to "吴")[onDesk.staff], onDesk.staffName, "whom to call, by name")
            check(onDesk.staff in listOf("lin", "wu")) { "zhou is on leave that day: $onDesk" }
            store.setStaff(onDesk.staff)
            val mine = store.myShifts("2026-03-04")
            val shift = mine.single { it.date == "2026-03-04" }
            assertEq("2026-03-04T09:00+08:00" to "2026-03-04T17:00+08:00", shift.start to shift.end, "times, team-local")
            assertEq(instant("2026-03-04T09:00+08:00"), shift.startMs, "start in ms")
            assertEq(ROSTER_ID to "D", shift.rosterId to shift.shift, "roster and shift template")
            val week = listOf("lin", "wu", "zhou").flatMap { staff -> store.setStaff(staff); store.myShifts("2026-03-04") }
            assertEq(listOf("2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06"), week.map { it.date }.sorted(), "the desk covered each weekday once")
            store.close()
        }
    }

    suite.test("roster: a republished roster reaches the phone's change listener, which says what changed", deadlineSeconds = 240) {
        withServer(dir) { server ->
            val console = Console(server)
            console.importTeam(SMALL_TEAM)
            val first = console.generate()
            console.publish(first)
            val token = server.issueToken("wu's phone")
            val store = KefuStore.open(newDir(), "wu")
            store.bindDevice(token)
            val heard = Heard()
            store.setChangeListener(heard)
            val live = store.startLive(server.url, token)
            heard.await(ROSTER_ID, "the published roster")
            store.markRostersSeen()
            assertEq(emptyList<RosterChange>(), store.rosterChanges(), "nothing new once seen")

            val worker = store.onDutyAt(instant("2026-03-04T10:00+08:00")).single().staff
            val other = listOf("lin", "wu").single { it != worker }
            val second = console.move(first, worker, "2026-03-04", other)
            check(second != first) { "a move on a published roster makes a new draft" }
            console.publish(second)
            heard.await(ROSTER_ID, "the republished roster")
            awaitState("version $second on the phone") { store.rosterChanges().isNotEmpty() }
            live.stop()

            val changes = store.rosterChanges()
            val summary = changes.map { Triple(it.kind, it.before?.staff ?: it.after?.staff, it.mine) }.toSet()
            assertEq(setOf(Triple(ShiftChangeKind.REMOVED, worker, worker == "wu"), Triple(ShiftChangeKind.ADDED, other, other == "wu")), summary, "what changed")
            check(changes.all { it.seenVersion == first.toULong() && it.version == second.toULong() }) { "versions: $changes" }
            assertEq(listOf(other), store.onDutyAt(instant("2026-03-04T10:00+08:00")).map { it.staff }, "the desk on Wednesday now")
            store.markRostersSeen()
            assertEq(emptyList<RosterChange>(), store.rosterChanges(), "seen again")
            store.close()
        }
    }
}
