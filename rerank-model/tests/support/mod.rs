//! Test support for the HTTP backend: a real llama.cpp server (llama-cpp-python) on
//! the loopback interface, and a fault-injecting proxy in front of it.

#![allow(dead_code)]

pub mod proxy;
pub mod server;
