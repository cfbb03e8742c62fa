//! `Var<T>`: the page's reactive value. It reads like Leptos's `RwSignal<T>` (`get`, `set`,
//! `update`, `with` and their untracked forms), and is made of a `Trigger` (tracking and
//! notifying, one type for every value) and the value in one type-erased arena slot
//! (`Rc<RefCell<dyn Any>>`). Leptos compiles a signal's read, write, arena and subscriber code once
//! per value type, about 2 KB of wasm each for some 90 types; a `Var` adds only a downcast and the
//! caller's closure per type (the download's size, issue 22).
//!
//! Semantics as `RwSignal`'s: `set` and `update` always notify; reading a disposed `Var` panics
//! and `try_set`/`try_update` answer it with `Some(value)`/`None`; a write inside a read of the same
//! `Var` panics (a `RefCell`, where the signal's lock would).

use leptos::prelude::*;
use std::any::Any;
use std::cell::RefCell;
use std::marker::PhantomData;
use std::rc::Rc;

type Cell = Rc<RefCell<dyn Any>>;

pub struct Var<T> {
    trigger: Trigger,
    cell: StoredValue<Cell, LocalStorage>,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Var<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Var<T> {}

/// A new `Var`'s trigger and slot (one function for every `T`).
#[inline(never)]
fn new_slot(cell: Cell) -> (Trigger, StoredValue<Cell, LocalStorage>) {
    (Trigger::new(), StoredValue::new_local(cell))
}

/// The slot's value, `None` once disposed (one function for every `T`).
#[inline(never)]
fn slot(cell: StoredValue<Cell, LocalStorage>) -> Option<Cell> {
    cell.try_get_value()
}

/// `f` over the slot's value, the read tracked when `tracked`; `f` is not called once the slot is
/// disposed (one function for every `T`).
#[inline(never)]
fn read_slot(
    trigger: Trigger,
    cell: StoredValue<Cell, LocalStorage>,
    tracked: bool,
    f: &mut dyn FnMut(&dyn Any),
) {
    if tracked {
        trigger.track();
    }
    if let Some(cell) = slot(cell) {
        f(&*cell.borrow());
    }
}

/// `f` over the slot's value, mutably, then its readers notified; neither once the slot is
/// disposed (one function for every `T`).
#[inline(never)]
fn write_slot(
    trigger: Trigger,
    cell: StoredValue<Cell, LocalStorage>,
    f: &mut dyn FnMut(&mut dyn Any),
) {
    if let Some(cell) = slot(cell) {
        f(&mut *cell.borrow_mut());
        drop(cell);
        trigger.notify();
    }
}

/// The slot's value as a `T`: once per type, not inlined in every reader and writer.
#[inline(never)]
pub(crate) fn as_ref<T: 'static>(v: &dyn Any) -> Option<&T> {
    v.downcast_ref()
}

#[inline(never)]
fn as_mut<T: 'static>(v: &mut dyn Any) -> Option<&mut T> {
    v.downcast_mut()
}

#[inline(never)]
#[track_caller]
fn disposed() -> ! {
    panic!("a Var was read or written after its owner was disposed")
}

impl<T: 'static> Var<T> {
    pub fn new(value: T) -> Self {
        let (trigger, cell) = new_slot(Rc::new(RefCell::new(value)));
        Var {
            trigger,
            cell,
            _t: PhantomData,
        }
    }

    fn try_with<R>(&self, tracked: bool, f: impl FnOnce(&T) -> R) -> Option<R> {
        let (mut f, mut out) = (Some(f), None);
        read_slot(self.trigger, self.cell, tracked, &mut |v| {
            if let (Some(v), Some(f)) = (as_ref::<T>(v), f.take()) {
                out = Some(f(v));
            }
        });
        out
    }

    /// Subscribes the running effect or memo, as reading a signal does.
    pub fn track(&self) {
        self.trigger.track();
    }

    pub fn with_untracked<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        self.try_with(false, f).unwrap_or_else(|| disposed())
    }

    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        self.try_with(true, f).unwrap_or_else(|| disposed())
    }

    pub fn get_untracked(&self) -> T
    where
        T: Clone,
    {
        self.with_untracked(T::clone)
    }

    pub fn get(&self) -> T
    where
        T: Clone,
    {
        self.with(T::clone)
    }

    /// Changes the value and notifies its readers; `None` when the `Var` is disposed.
    pub fn try_update<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let (mut f, mut out) = (Some(f), None);
        write_slot(self.trigger, self.cell, &mut |v| {
            if let (Some(v), Some(f)) = (as_mut::<T>(v), f.take()) {
                out = Some(f(v));
            }
        });
        out
    }

    pub fn update(&self, f: impl FnOnce(&mut T)) {
        self.try_update(f).unwrap_or_else(|| disposed())
    }

    /// Sets the value and notifies its readers; gives the value back when the `Var` is disposed.
    pub fn try_set(&self, value: T) -> Option<T> {
        let mut value = Some(value);
        self.try_update(|v| *v = value.take().unwrap_or_else(|| disposed()));
        value
    }

    pub fn set(&self, value: T) {
        self.update(|v| *v = value)
    }
}

/// A `Var` where a component takes a `Signal` (its reads are tracked the same way).
impl<T: Clone + Send + Sync + 'static> From<Var<T>> for Signal<T> {
    fn from(v: Var<T>) -> Self {
        crate::ui::derive(move || v.get())
    }
}

#[cfg(test)]
mod tests {
    use super::Var;
    use leptos::prelude::*;

    #[test]
    fn reads_writes_and_disposal() {
        let owner = Owner::new();
        owner.set();
        let v = Var::new(vec![1, 2]);
        assert_eq!(v.get(), vec![1, 2]);
        v.update(|x| x.push(3));
        assert_eq!(v.with(|x| x.len()), 3);
        v.set(vec![7]);
        assert_eq!(v.get_untracked(), vec![7]);
        assert_eq!(v.try_update(|x| x.pop()), Some(Some(7)));
        assert_eq!(v.try_set(vec![9]), None);
        owner.cleanup();
        assert_eq!(v.try_set(vec![5]), Some(vec![5]));
        assert_eq!(v.try_update(|x| x.len()), None);
    }
}
