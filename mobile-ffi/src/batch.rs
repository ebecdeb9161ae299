//! [`KefuStore::apply_batch`]: many edits to one or many cases in one durable transaction,
//! for an app importing cases or catching up on a shift's paperwork (kefu-core's
//! `CaseStore::batch`). All or nothing: a refused step stores nothing of the batch, and its
//! error names the step.

use kefu_core::ids::Timestamp;

use crate::error::KefuError;
use crate::records::{self, Case, CaseEdit, NewCase};
use crate::store::KefuStore;

/// One step of a batch.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum BatchStep {
    /// Opens a case. Later steps name it by its place among the cases this batch opens
    /// (0 for the first).
    Create {
        /// The case to open.
        new_case: NewCase,
    },
    /// Edits a case the phone already holds.
    Edit {
        /// The case.
        case_id: String,
        /// The edit.
        edit: CaseEdit,
    },
    /// Edits a case this batch opened.
    EditNew {
        /// Its place among the batch's new cases.
        index: u32,
        /// The edit.
        edit: CaseEdit,
    },
}

/// A step with its ids and edit checked, in kefu-core's types.
enum Planned {
    Create(kefu_core::case::NewCase),
    Edit(kefu_core::ids::CaseId, kefu_core::case::CaseEdit),
    EditNew(usize, kefu_core::case::CaseEdit),
}

impl Planned {
    /// Checks a step's arguments; `opened` is how many cases earlier steps open.
    fn from_step(step: BatchStep, opened: usize) -> Result<Planned, KefuError> {
        Ok(match step {
            BatchStep::Create { new_case } => Planned::Create(new_case.into()),
            BatchStep::Edit { case_id, edit } => Planned::Edit(records::case_id(&case_id)?, edit.into_core()?),
            BatchStep::EditNew { index, edit } => {
                let index = index as usize;
                if index >= opened {
                    return Err(KefuError::InvalidInput {
                        message: format!(
                            "new case {index} is not opened by an earlier step ({opened} opened before it)"
                        ),
                    });
                }
                Planned::EditNew(index, edit.into_core()?)
            }
        })
    }
}

#[uniffi::export]
impl KefuStore {
    /// Applies `steps` in order, each checked as the single call would check it, and stores
    /// them all in one durable write when every step passed. Returns the cases the batch
    /// opened, as they are after it. When a step is refused, nothing of the batch is
    /// stored, and the error says which step (counting from 0) and why.
    pub fn apply_batch(&self, steps: Vec<BatchStep>) -> Result<Vec<Case>, KefuError> {
        let mut planned = Vec::with_capacity(steps.len());
        let mut opened = 0;
        for (step_index, step) in steps.into_iter().enumerate() {
            let step = Planned::from_step(step, opened).map_err(|err| err.at_batch_step(step_index))?;
            opened += usize::from(matches!(step, Planned::Create(_)));
            planned.push(step);
        }
        let staff = self.staff_now();
        let mut failed_at = 0;
        let created = self
            .with_store(|store| {
                let now = Timestamp::now();
                Ok(store.batch(|batch| {
                    let mut created = Vec::new();
                    for (step_index, step) in planned.iter().enumerate() {
                        failed_at = step_index;
                        match step {
                            Planned::Create(new_case) => created.push(batch.create_case(new_case, &staff, now)?.id),
                            Planned::Edit(id, edit) => {
                                batch.edit_case(*id, edit, &staff, now)?;
                            }
                            Planned::EditNew(index, edit) => {
                                batch.edit_case(created[*index], edit, &staff, now)?;
                            }
                        }
                    }
                    created.into_iter().map(|id| batch.case(id)).collect::<Result<Vec<_>, _>>()
                })?)
            })
            .map_err(|err| err.at_batch_step(failed_at))?;
        self.local_change.notify_one();
        Ok(created.into_iter().map(Case::from).collect())
    }
}
