#define GUARD_H
