//! `Calc<T>`: the page's memo, as `Var` is its signal. It reads like Leptos's `Memo<T>` (`get`,
//! `with`, their untracked forms, `track`) and is one Leptos memo of a type-erased value (an
//! `Arc<dyn Any>` with `T`'s `PartialEq`). Leptos compiles a memo's update, read and arena code once
//! per value type, about 1 KB of wasm each for some 40 types; a `Calc` adds only a downcast and the
//! caller's closure per type (the download's size, issue 22).
//!
//! Semantics as `Memo`'s: computed when first read, again when something it read changes, and its
//! readers notified only when the new value differs (`PartialEq`) from the last.

use crate::var::as_ref;
use leptos::prelude::*;
use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

type Value = Arc<dyn Any + Send + Sync>;

/// A computed value and how to compare it with another of its type.
#[derive(Clone)]
struct Erased {
    value: Value,
    same: fn(&Value, &Value) -> bool,
}

impl PartialEq for Erased {
    fn eq(&self, other: &Self) -> bool {
        (self.same)(&self.value, &other.value)
    }
}

fn same<T: PartialEq + 'static>(a: &Value, b: &Value) -> bool {
    as_ref::<T>(&**a) == as_ref::<T>(&**b)
}

pub struct Calc<T> {
    memo: Memo<Erased>,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Calc<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Calc<T> {}

/// A memo's computation: its value from its last (None the first time).
type Compute = Arc<dyn Fn(Option<&Value>) -> Value + Send + Sync>;

/// The Leptos memo of a computation (one function and one memo closure for every `T`).
#[inline(never)]
fn erased_memo(compute: Compute, same: fn(&Value, &Value) -> bool) -> Memo<Erased> {
    Memo::new(move |last: Option<&Erased>| Erased {
        value: compute(last.map(|e| &e.value)),
        same,
    })
}

/// The memo's value, its read tracked or not (one function for every `T`).
#[inline(never)]
fn value(memo: Memo<Erased>, tracked: bool) -> Value {
    if tracked {
        memo.with(|e| e.value.clone())
    } else {
        memo.with_untracked(|e| e.value.clone())
    }
}

impl<T: PartialEq + Send + Sync + 'static> Calc<T> {
    /// The value of `f`, given its last value (None the first time).
    pub fn new(f: impl Fn(Option<&T>) -> T + Send + Sync + 'static) -> Self {
        let compute: Compute = Arc::new(move |last: Option<&Value>| -> Value {
            Arc::new(f(last.and_then(|v| as_ref::<T>(&**v))))
        });
        Calc {
            memo: erased_memo(compute, same::<T>),
            _t: PhantomData,
        }
    }

    fn read<R>(&self, tracked: bool, f: impl FnOnce(&T) -> R) -> R {
        let v = value(self.memo, tracked);
        f(as_ref::<T>(&*v).expect("a Calc holds its own type"))
    }

    /// Subscribes the running effect or memo, as reading it does.
    pub fn track(&self) {
        self.memo.track();
    }

    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        self.read(true, f)
    }

    pub fn with_untracked<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        self.read(false, f)
    }

    pub fn get(&self) -> T
    where
        T: Clone,
    {
        self.with(T::clone)
    }

    pub fn get_untracked(&self) -> T
    where
        T: Clone,
    {
        self.with_untracked(T::clone)
    }
}

/// A `Calc` where a component takes a `Signal` (its reads are tracked the same way).
impl<T: Clone + PartialEq + Send + Sync + 'static> From<Calc<T>> for Signal<T> {
    fn from(c: Calc<T>) -> Self {
        crate::ui::derive(move || c.get())
    }
}

#[cfg(test)]
mod tests {
    use super::Calc;
    use crate::var::Var;
    use leptos::prelude::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn a_calc_follows_a_var_and_is_lazy() {
        let owner = Owner::new();
        owner.set();
        let runs = Arc::new(AtomicUsize::new(0));
        let v = Var::new(2);
        let counted = runs.clone();
        let twice = Calc::new(move |last: Option<&i32>| {
            counted.fetch_add(1, Ordering::SeqCst);
            v.get() * 2 + last.map_or(0, |_| 0)
        });
        assert_eq!(
            runs.load(Ordering::SeqCst),
            0,
            "not computed before it is read"
        );
        assert_eq!(twice.get_untracked(), 4);
        assert_eq!(twice.with_untracked(|x| x + 1), 5);
        assert_eq!(runs.load(Ordering::SeqCst), 1, "read twice, computed once");
        v.set(5);
        assert_eq!(twice.get_untracked(), 10);
        v.update(|x| *x += 1);
        assert_eq!(twice.get_untracked(), 12);
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn its_last_value_is_passed_back() {
        let owner = Owner::new();
        owner.set();
        let v = Var::new(1);
        let sum = Calc::new(move |last: Option<&i32>| last.copied().unwrap_or(0) + v.get());
        assert_eq!(sum.get_untracked(), 1);
        v.set(10);
        assert_eq!(sum.get_untracked(), 11);
    }

    #[test]
    fn an_equal_value_notifies_no_reader() {
        let owner = Owner::new();
        owner.set();
        let v = Var::new(3);
        let parity = Calc::new(move |_| v.get() % 2);
        let seen = Arc::new(AtomicUsize::new(0));
        let counted = seen.clone();
        let reader = Calc::new(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
            parity.get()
        });
        assert_eq!(reader.get_untracked(), 1);
        v.set(5);
        assert_eq!(reader.get_untracked(), 1);
        assert_eq!(seen.load(Ordering::SeqCst), 1, "the parity did not change");
        v.set(6);
        assert_eq!(reader.get_untracked(), 0);
        assert_eq!(seen.load(Ordering::SeqCst), 2);
    }
}
