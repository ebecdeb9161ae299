// Leave, 调休 and swap requests and check-ins from the phone (issue 19), against a real
// `kefu serve`: made offline (the server killed), synced when it is back, decided by a supervisor
// through /v1 with a supervisor device's token, and the decision, the swapped roster and the
// month's attendance seen on the phones and through the API.
package kefu.tests

import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.time.Duration
import kotlinx.coroutines.runBlocking
import uniffi.kefu_mobile.*

/** The team's /v1 API with a supervisor device's token. */
class SupervisorApi(private val server: KefuServer) {
    private val token = server.issueToken("supervisor's phone", role = "supervisor")
    private val http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()

    private fun send(request: HttpRequest.Builder): HttpResponse<String> =
        http.send(request.header("Authorization", "Bearer $token").timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString())

    fun get(path: String): String {
        val answer = send(HttpRequest.newBuilder(URI(server.url + path)))
        check(answer.statusCode() == 200) { "GET $path: ${answer.statusCode()} ${answer.body()}" }
        return answer.body()
    }

    /** POSTs [json] to [path]; returns the status and body. */
    fun post(path: String, json: String): HttpResponse<String> = send(
        HttpRequest.newBuilder(URI(server.url + path)).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)),
    )

    fun decide(id: String, approve: Boolean, note: String) {
        val answer = post("/v1/requests/$id/decision", """{"approve": $approve, "note": "$note"}""")
        check(answer.statusCode() == 200) { "deciding $id: ${answer.statusCode()} ${answer.body()}" }
    }
}

/** A phone of staff member [staff] with a token issued to them. */
class Phone(server: KefuServer, dir: String, val staff: String) {
    val token = server.issueToken("$staff's phone", staff = staff)
    val store: KefuStore = KefuStore.open(dir, staff).also { it.bindDevice(token) }
    fun sync(server: KefuServer) = runBlocking { store.sync(server.url, token) }
}

/** The object of `"key":"<key>"` in [json], up to its first closing brace. */
fun jsonObjectWith(json: String, key: String): String {
    val at = json.indexOf("\"key\":\"$key\"")
    check(at >= 0) { "no $key in $json" }
    return json.substring(at, json.indexOf('}', at))
}

fun requestTests(suite: Suite) {
    suite.test("requests: leave asked offline is approved through the API, and a fifth day is refused on the phone", deadlineSeconds = 300) {
        withServer(dir) { server ->
            val console = Console(server)
            console.importTeam(SMALL_TEAM)
            console.publish(console.generate())
            val api = SupervisorApi(server)
            val lin = Phone(server, newDir(), "lin")
            lin.sync(server)
            val port = server.port
            server.kill()

            // Offline: two days of leave and two of 调休 in March fill the allowance.
            assertEq(4u, lin.store.leaveAllowance("2026-03").remaining, "the month's allowance")
            val leave = lin.store.requestLeave(RequestKind.LEAVE, listOf("2026-03-10", "2026-03-09"), "探亲")
            assertEq(listOf("2026-03-09", "2026-03-10") to "pending", leave.days to leave.status, "the request")
            lin.store.requestLeave(RequestKind.LIEU, listOf("2026-03-16", "2026-03-17"), "")
            val full = lin.store.leaveAllowance("2026-03")
            assertEq(0u to listOf("2026-03-09", "2026-03-10", "2026-03-16", "2026-03-17"), full.remaining to full.counted, "allowance used")
            val fifth = assertThrows<KefuException.EditRefused> { lin.store.requestLeave(RequestKind.LEAVE, listOf("2026-03-20"), "") }
            check("2026-03" in fifth.message!! && "2026-03-09, 2026-03-10, 2026-03-16, 2026-03-17" in fifth.message!!) {
                "the refusal names the month and the four days: ${fifth.message}"
            }
            assertEq(2, lin.store.requests().size, "the refused request was not kept")

            server.start(port)
            lin.sync(server)
            val pending = api.get("/v1/requests?status=pending")
            check(leave.id in pending) { "the supervisor sees the request: $pending" }
            api.decide(leave.id, approve = true, note = "同意，注意交接")
            val refused = api.post("/v1/requests/${leave.id}/decision", """{"approve": false}""")
            assertEq(409, refused.statusCode(), "a decided request is not decided again: ${refused.body()}")
            lin.sync(server)
            val decided = lin.store.requests().single { it.id == leave.id }
            assertEq(Triple("approved", "同意，注意交接", "device"), Triple(decided.status, decided.decisionNote, decided.decidedBy?.substringBefore(' ')), "the phone sees the approval")
            lin.store.close()
        }
    }

    suite.test("requests: a swap accepted by the colleague and approved shows on both phones; a late check-in made offline is an absence", deadlineSeconds = 300) {
        withServer(dir) { server ->
            val console = Console(server)
            console.importTeam(SMALL_TEAM)
            console.publish(console.generate())
            val api = SupervisorApi(server)
            val phones = listOf("lin", "wu", "zhou").associateWith { Phone(server, newDir(), it) }
            phones.values.forEach { it.sync(server) }
            // A day one person works that another, not on leave, does not.
            val shifts = phones.mapValues { (_, phone) -> phone.store.myShifts("2026-03-02").map { it.date } }
            val (giver, day, taker) = shifts.flatMap { (staff, days) ->
                days.flatMap { day -> shifts.keys.filter { other -> other != staff && day !in shifts[other]!! && !(other == "zhou" && day == "2026-03-04") }.map { Triple(staff, day, it) } }
            }.first()
            val (from, to) = phones[giver]!! to phones[taker]!!

            val swap = from.store.requestSwap(day, "D", taker, "看病")
            assertEq("awaiting_colleague", swap.status, "the colleague answers first")
            from.sync(server)
            to.sync(server)
            val asked = to.store.requests().single()
            assertEq(Triple(swap.id, false, giver), Triple(asked.id, asked.mine, asked.staff), "the colleague's phone holds the swap")
            val bystander = phones.values.single { it != from && it != to }
            bystander.sync(server)
            assertEq(emptyList<StaffRequest>(), bystander.store.requests(), "nobody else sees it")
            to.store.answerSwap(swap.id, true)
            to.sync(server)

            api.decide(swap.id, approve = true, note = "可以")
            for (phone in listOf(from, to)) {
                phone.sync(server)
                assertEq("approved", phone.store.requests().single().status, "${phone.staff} sees the approval")
                assertEq(listOf(taker), phone.store.onDutyAt(instant("${day}T10:00+08:00")).map { it.staff }, "${phone.staff} sees who works $day now")
            }
            check(day !in from.store.myShifts("2026-03-02").map { it.date }) { "$giver no longer works $day" }
            check(day in to.store.myShifts("2026-03-02").map { it.date }) { "$taker works $day" }

            // The taker checks in 40 minutes late, offline.
            val port = server.port
            server.kill()
            val start = instant("${day}T09:00+08:00")
            to.store.checkIn(CheckKind.IN, start + 40 * 60_000)
            to.store.checkIn(CheckKind.OUT, instant("${day}T17:05+08:00"))
            val end = instant("2026-03-31T23:00+08:00")
            val mine = to.store.attendance("2026-03", end).shifts.single { it.date == day }
            assertEq("absent" to 40L, mine.status to mine.lateMinutes, "the phone judges it too")
            server.start(port)
            to.sync(server)
            val month = api.get("/v1/attendance?month=2026-03")
            val record = jsonObjectWith(month, "$day/$taker/D")
            check("\"late_minutes\":40" in record && "\"status\":\"absent\"" in record) { "the month's attendance: $record" }
            to.store.close()
            from.store.close()
        }
    }
}
