// What a phone app does with the store, offline: open, create, edit, list, search,
// duty logs, typed errors with their exact text, several threads and coroutines at
// once, and reopening after the app is killed.
package kefu.tests

import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.CyclicBarrier
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import uniffi.kefu_mobile.*

fun newRepair(subject: String = "地下室进水 B2", name: String = "王芳"): NewCase = NewCase(
    kind = CaseKind.REPAIR,
    channel = Channel.PHONE,
    customer = Customer(name = name, phone = "138 0000 0000", address = "3-2-1101"),
    subject = subject,
    description = "Water in the basement",
    priority = Priority.URGENT,
    service = Service.REPAIR,
)

fun storeTests(suite: Suite) {
    suite.test("a batch is stored whole in one write, and a refused step stores nothing") {
        val store = KefuStore.open(newDir(), "desk.li")
        val existing = store.createCase(newRepair(subject = "已有工单"))
        val steps = mutableListOf<BatchStep>()
        for (n in 0 until 30) {
            steps.add(BatchStep.Create(newRepair(subject = "导入工单 $n")))
            for (entry in 0 until 20) steps.add(BatchStep.EditNew(n.toUInt(), CaseEdit.AddNote("第${entry}条处理记录：已联系业主并约定上门时间")))
        }
        steps.add(BatchStep.Edit(existing.id, CaseEdit.AddNote("批量导入时补记")))
        val opened = store.applyBatch(steps)
        assertEq(30, opened.size, "cases opened")
        check(opened.all { it.timeline.size == 20 }) { "each case has its twenty notes" }
        assertEq(31u, store.nCases(), "cases held")
        assertEq(existing.timeline.size + 1, store.getCase(existing.id).timeline.size, "the existing case got its note")
        // A refused step: the whole batch is refused, naming the step, and nothing is stored.
        val refused = assertThrows<KefuException.EditRefused> {
            store.applyBatch(listOf(
                BatchStep.Create(newRepair(subject = "不会保存")),
                BatchStep.EditNew(0u, CaseEdit.AddNote("也不会保存")),
                BatchStep.Edit(existing.id, CaseEdit.Transition(Status.CLOSED, "a new case cannot be closed")),
            ))
        }
        check(refused.message!!.startsWith("batch step 2: ")) { "message: ${refused.message}" }
        val unknown = assertThrows<KefuException.InvalidInput> {
            store.applyBatch(listOf(BatchStep.EditNew(0u, CaseEdit.AddNote("no case opened yet"))))
        }
        check(unknown.message!!.startsWith("batch step 0: new case 0 is not opened by an earlier step")) { "message: ${unknown.message}" }
        assertEq(31u, store.nCases(), "nothing of the refused batches was stored")
        assertEq(existing.timeline.size + 1, store.getCase(existing.id).timeline.size, "the existing case is as it was")
        store.close()
    }

    suite.test("create and read back a case") {
        val store = KefuStore.open(newDir(), "desk.li")
        val case = store.createCase(newRepair())
        assertEq(store.getCase(case.id), case, "case read back")
        assertEq("地下室进水 B2", case.subject, "subject")
        assertEq(Status.NEW, case.status, "status")
        assertEq("desk.li", case.createdBy, "created by")
        check(case.number.provisional.startsWith("P")) { "provisional number ${case.number.provisional}" }
        assertEq(null, case.number.assigned, "assigned number before any sync")
        assertEq(case.number.provisional, case.number.display, "display number")
        assertEq(1u, store.nCases(), "case count")
        assertEq(1u, store.pendingDocs(), "pending documents")
        val rows = store.list(CaseFilter())
        assertEq(listOf(case.id), rows.map { it.id }, "listed ids")
        assertEq("王芳", rows[0].customerName, "listed customer")
        store.close()
    }

    suite.test("edit fields, splice, notes, transfer, feedback, workflow and return visit") {
        val store = KefuStore.open(newDir(), "desk.li")
        val id = store.createCase(newRepair()).id
        assertEq(null, store.editCase(id, CaseEdit.SetSubject("B2 flood, 43 households")), "entry for a field edit")
        store.editCase(id, CaseEdit.AddTag("flood"))
        store.spliceDescription(id, 0u, 0u, "[B2] ")
        store.spliceDescription(id, 5u, 5u, "WATER")
        val noteId = store.addNote(id, "43 households' storage affected")
        store.editCase(id, CaseEdit.Transfer(toDepartment = "工程部", toAssignee = "repair.zhang", reason = "pipes"))
        store.editCase(id, CaseEdit.Feedback(FeedbackDirection.TO_CUSTOMER, "engineer on the way"))
        store.transition(id, Status.IN_PROGRESS, "on site")
        store.transition(id, Status.COMPLETED, "pump fixed")
        store.recordReturnVisit(id, Satisfaction.SATISFIED, "quick work")
        store.transition(id, Status.CLOSED, "done")

        val case = store.getCase(id)
        assertEq("B2 flood, 43 households", case.subject, "subject")
        assertEq("[B2] WATER in the basement", case.description, "description after two splices")
        assertEq(listOf("flood"), case.tags, "tags")
        assertEq("工程部", case.department, "department")
        assertEq("repair.zhang", case.assignee, "assignee")
        assertEq(Status.CLOSED, case.status, "status")
        assertEq(emptyList<StatusLeaf>(), case.statusConflict, "status conflict")
        val kinds = case.timeline.map { it.body::class.simpleName }
        assertEq(
            listOf("Note", "Transfer", "Feedback", "StatusChange", "StatusChange", "ReturnVisit", "StatusChange"),
            kinds, "timeline kinds",
        )
        check(case.timeline.any { it.id == noteId }) { "note entry $noteId in the timeline" }
        val reply = case.replyDeadline ?: fail("a repair by phone promises a reply")
        check(reply.doneAtMs != null) { "the feedback met the reply deadline" }
        val visit = case.returnVisitDeadline ?: fail("a completed repair has a return-visit window")
        check(visit.doneAtMs != null) { "the return visit is recorded against its window" }
        assertEq(emptyList<FieldConflict>(), store.conflicts(id), "conflicts on a single phone")
        store.close()
    }

    suite.test("list filters and search") {
        val store = KefuStore.open(newDir(), "desk.li")
        val flood = store.createCase(newRepair(subject = "flood in B2", name = "Zhao"))
        val noise = store.createCase(newRepair(subject = "noise at night", name = "Qian").copy(kind = CaseKind.COMPLAINT))
        store.editCase(noise.id, CaseEdit.AddTag("粤B12345"))
        store.transition(flood.id, Status.DISPATCHED, "sent")
        assertEq(listOf(flood.id), store.search("FLOOD", 0u).map { it.id }, "search is case-insensitive")
        assertEq(listOf(noise.id), store.search("b12345", 0u).map { it.id }, "search by tag")
        assertEq(listOf(noise.id), store.search("qian", 0u).map { it.id }, "search by customer")
        assertEq(listOf(flood.id), store.search(flood.number.provisional, 0u).map { it.id }, "search by number")
        assertEq(emptyList<String>(), store.search("50%_off", 0u).map { it.id }, "wildcards are literal")
        assertEq(listOf(flood.id), store.list(CaseFilter(statuses = listOf(Status.DISPATCHED))).map { it.id }, "by status")
        assertEq(listOf(noise.id), store.list(CaseFilter(kind = CaseKind.COMPLAINT)).map { it.id }, "by kind")
        assertEq(listOf(noise.id, flood.id).toSet(), store.list(CaseFilter()).map { it.id }.toSet(), "all")
        assertEq(1, store.list(CaseFilter(limit = 1u)).size, "limit")
        val dayAfter = System.currentTimeMillis() + 2 * 86_400_000L
        assertEq(2, store.list(CaseFilter(overdueAtMs = dayAfter)).size, "both replies overdue in two days")
        store.close()
    }

    suite.test("typed errors carry messages a field worker can act on") {
        val store = KefuStore.open(newDir(), "desk.li")
        val case = store.createCase(newRepair())
        val before = store.getCase(case.id)

        val badId = assertThrows<KefuException.InvalidInput> { store.getCase("nope") }
        assertEq("invalid case id: \"nope\"", badId.message, "bad id message")
        val missing = "5f0c2a47-1111-4222-8333-944455556666"
        val notFound = assertThrows<KefuException.NotFound> { store.addNote(missing, "hello") }
        assertEq("no such case: $missing", notFound.message, "missing case message")

        val tooEarly = assertThrows<KefuException.EditRefused> { store.transition(case.id, Status.CLOSED, "done") }
        assertEq("a repair case can be closed only after a return visit", tooEarly.message, "policy message")
        store.transition(case.id, Status.COMPLETED, "fixed")
        store.recordReturnVisit(case.id, Satisfaction.VERY_SATISFIED, "")
        store.transition(case.id, Status.CLOSED, "done")
        val backwards = assertThrows<KefuException.EditRefused> { store.transition(case.id, Status.COMPLETED, "oops") }
        assertEq("cannot go from closed to completed", backwards.message, "workflow message")
        val same = assertThrows<KefuException.EditRefused> { store.transition(case.id, Status.CLOSED, "again") }
        assertEq("case is already closed", same.message, "unchanged message")

        val past = assertThrows<KefuException.EditRefused> { store.spliceDescription(case.id, 100u, 0u, "x") }
        assertEq("description splice reaches past the end of the text (100+0 > 21 characters)", past.message, "splice")
        val long = assertThrows<KefuException.EditRefused> { store.editCase(case.id, CaseEdit.SetSubject("x".repeat(201))) }
        assertEq("subject is 201 characters long, at most 200 allowed", long.message, "subject limit")
        val noTag = assertThrows<KefuException.EditRefused> { store.editCase(case.id, CaseEdit.RemoveTag("none")) }
        assertEq("the case has no such tag", noTag.message, "no such tag")
        val badStaff = assertThrows<KefuException.InvalidInput> { store.setStaff("li\nwei") }
        assertEq("invalid staff id: \"li\\nwei\"", badStaff.message, "staff id message")
        val badDate = assertThrows<KefuException.InvalidInput> { store.openDutyLog("29/11/2026", DutyShift.NIGHT) }
        assertEq("invalid date: \"29/11/2026\" (expected YYYY-MM-DD)", badDate.message, "date message")
        val noLog = assertThrows<KefuException.NotFound> { store.dutyLog("duty:2026-01-01:day") }
        assertEq("no such duty log: duty:2026-01-01:day", noLog.message, "missing duty log")

        // Every refused edit above wrote nothing.
        val after = store.getCase(case.id)
        assertEq(before.timeline.size + 3, after.timeline.size, "only the two transitions and the visit were recorded")
        assertEq(before.description, after.description, "description untouched")
        // The common supertype catches them all, as an app's error screen would.
        val any: KefuException = assertThrows<KefuException> { store.getCase("") }
        check(any is KefuException.InvalidInput) { "empty id is invalid input" }
        store.close()
    }

    suite.test("bad directory and bad staff when opening") {
        val file = java.io.File(newDir(), "a-file")
        file.writeText("not a directory")
        val storage = assertThrows<KefuException.Storage> { KefuStore.open(file.absolutePath, "desk.li") }
        check(storage.message!!.startsWith("cannot use store at ${file.absolutePath}")) { "message: ${storage.message}" }
        val staff = assertThrows<KefuException.InvalidInput> { KefuStore.open(newDir(), "") }
        assertEq("invalid staff id: \"\"", staff.message, "empty staff")
    }

    suite.test("everything survives closing and reopening the store") {
        val dir = newDir()
        val first = KefuStore.open(dir, "desk.li")
        val device = first.deviceId()
        val id = first.createCase(newRepair()).id
        first.addNote(id, "written before the app was killed")
        first.close()
        val second = KefuStore.open(dir, "night.wu")
        // The device half is kept; each opening writes under a fresh second half (a restored or
        // reinstalled store must never reuse an actor's change numbers).
        assertEq(device.take(18), second.deviceId().take(18), "device part of the id is kept")
        check(device != second.deviceId()) { "a reopened store writes as a new install: $device" }
        assertEq("night.wu", second.staff(), "staff of this session")
        val case = second.getCase(id)
        assertEq("written before the app was killed", (case.timeline.last().body as EntryBody.Note).text, "note")
        assertEq(1u, second.pendingDocs(), "still waiting to be sent")
        val next = second.createCase(newRepair())
        check(next.number.provisional != case.number.provisional) { "provisional numbers are not reused" }
        second.close()
    }

    suite.test("duty log: entries, handover and take-over") {
        val store = KefuStore.open(newDir(), "night.wu")
        val case = store.createCase(newRepair())
        val log = store.openDutyLog("2026-11-29", DutyShift.NIGHT)
        assertEq("duty:2026-11-29:night", log.id, "log id from date and shift")
        store.editDutyLog(log.id, DutyEdit.SetWeather("小雨"))
        store.editDutyLog(log.id, DutyEdit.AddStaff("night.wu"))
        store.editDutyLog(log.id, DutyEdit.AddEntry(DutyEntryKind.CALL, "flood call from B2", case.id))
        val handed = store.editDutyLog(log.id, DutyEdit.HandOver(case.id, "pump rented until 10:00"))
        assertEq(listOf(case.id), handed.handover.map { it.caseId }, "handover list")
        assertEq("小雨", handed.weather, "weather")
        assertEq(listOf("night.wu"), handed.staff, "staff")
        assertEq(case.id, handed.entries.single().caseId, "entry's case")
        assertEq(log.id, store.openDutyLog("2026-11-29", DutyShift.NIGHT).id, "opening again returns the same log")
        val taken = store.editDutyLog(log.id, DutyEdit.TakeOver(case.id))
        assertEq(emptyList<HandoverItem>(), taken.handover, "handover after take-over")
        val again = assertThrows<KefuException.EditRefused> { store.editDutyLog(log.id, DutyEdit.TakeOver(case.id)) }
        assertEq("that case was not handed over in this log", again.message, "take-over twice")
        assertEq(listOf(log.id), store.dutyLogsBetween("2026-11-01", "2026-11-30"), "logs of the month")
        store.close()
    }

    suite.test("many threads create, edit and read at once") {
        val store = KefuStore.open(newDir(), "desk.li")
        val nThreads = 8
        val perThread = 15
        val errors = Collections.synchronizedList(mutableListOf<Throwable>())
        val created = Collections.synchronizedList(mutableListOf<String>())
        val start = CyclicBarrier(nThreads + 2)
        val done = CountDownLatch(nThreads + 2)
        fun worker(body: () -> Unit) = Thread {
            try { start.await(); body() } catch (e: Throwable) { errors.add(e) } finally { done.countDown() }
        }.apply { isDaemon = true; start() }
        repeat(nThreads) { t ->
            worker {
                repeat(perThread) { i ->
                    val id = store.createCase(newRepair(subject = "thread $t case $i")).id
                    store.addNote(id, "note from thread $t")
                    store.spliceDescription(id, 0u, 0u, "[$t.$i] ")
                    created.add(id)
                }
            }
        }
        // Readers and a bad caller run alongside: errors on one thread leave the others alone.
        worker { repeat(40) { store.list(CaseFilter()); store.pendingDocs() } }
        worker { repeat(40) { assertThrows<KefuException.InvalidInput> { store.getCase("nope") } } }
        check(done.await(120, java.util.concurrent.TimeUnit.SECONDS)) { "threads did not finish" }
        check(errors.isEmpty()) { "errors on threads: ${errors.take(3)}" }
        assertEq((nThreads * perThread).toUInt(), store.nCases(), "every case created")
        assertEq(nThreads * perThread, created.toSet().size, "distinct ids")
        val numbers = store.list(CaseFilter()).map { it.number.provisional }
        assertEq(numbers.size, numbers.toSet().size, "no provisional number handed out twice")
        for (id in created) {
            val case = store.getCase(id)
            check(case.timeline.any { it.body is EntryBody.Note }) { "note on $id" }
            check(case.description.startsWith("[")) { "splice on $id" }
        }
        store.close()
    }

    suite.test("coroutines on Dispatchers.IO share one store") {
        val store = KefuStore.open(newDir(), "desk.li")
        val ids = runBlocking {
            (1..40).map { i ->
                async(Dispatchers.IO) {
                    val id = store.createCase(newRepair(subject = "coroutine $i")).id
                    store.addNote(id, "n$i")
                    id
                }
            }.awaitAll()
        }
        assertEq(40, ids.toSet().size, "distinct cases")
        assertEq(40u, store.nCases(), "count")
        assertEq(40u, store.pendingDocs(), "all pending")
        store.close()
    }
}
